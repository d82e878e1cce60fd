-- Fencing: the attempt allowed to write for a run; a worker that lost its job can no longer write.
ALTER TABLE "runs" ADD COLUMN "current_attempt_id" UUID;
-- Fine-tunes pin the base run's checkpoint they start from, so retention never deletes it.
ALTER TABLE "runs" ADD COLUMN "base_checkpoint_id" UUID;

-- Why a checkpoint was written and the metric it was judged by (retention keeps the best).
ALTER TABLE "checkpoints" ADD COLUMN "reason" TEXT;
ALTER TABLE "checkpoints" ADD COLUMN "metric_name" TEXT;
ALTER TABLE "checkpoints" ADD COLUMN "metric_value" DOUBLE PRECISION;

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "run_id" UUID NOT NULL,
    "response" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "idempotency_keys_run_id_idx" ON "idempotency_keys"("run_id");

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_current_attempt_id_fkey" FOREIGN KEY ("current_attempt_id") REFERENCES "attempts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_base_checkpoint_id_fkey" FOREIGN KEY ("base_checkpoint_id") REFERENCES "checkpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
