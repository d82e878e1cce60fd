-- Uploads of one project open at the same time each saw the room QUOTA_PROJECT_UPLOAD_BYTES left
-- as it was when they began, so together they could pass it by what they carried (ten uploads
-- of 2 GiB on each replica). An upload now sets aside the bytes its body may bring before it
-- reads them, under a per-project advisory lock, and the room counts what the others set aside.
-- A row is deleted when its upload ends; one not renewed for a day (an API process that died
-- mid-upload) is no longer counted and is deleted by the next reservation of its project.
CREATE TABLE "upload_reservations" (
    "id" UUID NOT NULL,
    "project" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "renewed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upload_reservations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "upload_reservations_project_idx" ON "upload_reservations"("project");
