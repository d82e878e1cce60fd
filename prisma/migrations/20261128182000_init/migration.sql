-- CreateEnum
CREATE TYPE "RunKind" AS ENUM ('PRETRAIN', 'FINETUNE');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED');

-- CreateEnum
CREATE TYPE "AttemptOutcome" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED', 'CRASHED');

-- CreateEnum
CREATE TYPE "CheckpointStatus" AS ENUM ('WRITING', 'COMPLETE', 'CORRUPT', 'DELETED');

-- CreateTable
CREATE TABLE "runs" (
    "id" UUID NOT NULL,
    "kind" "RunKind" NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "name" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "base_run_id" UUID,
    "failure_reason" TEXT,
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "progress" JSONB,
    "result" JSONB,
    "backend" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workers" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "backend" TEXT,
    "gpu" TEXT,
    "concurrency" INTEGER NOT NULL DEFAULT 1,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMPTZ(3),

    CONSTRAINT "workers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attempts" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "worker_id" TEXT,
    "backend" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMPTZ(3),
    "outcome" "AttemptOutcome" NOT NULL DEFAULT 'RUNNING',
    "error" TEXT,

    CONSTRAINT "attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "metric_points" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "attempt_id" UUID,
    "name" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "wall_time" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "metric_points_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "metric_summaries" (
    "run_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "goal" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "last" DOUBLE PRECISION NOT NULL,
    "last_step" INTEGER NOT NULL,
    "min" DOUBLE PRECISION NOT NULL,
    "max" DOUBLE PRECISION NOT NULL,
    "best" DOUBLE PRECISION NOT NULL,
    "best_step" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "metric_summaries_pkey" PRIMARY KEY ("run_id","name")
);

-- CreateTable
CREATE TABLE "checkpoints" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "attempt_id" UUID,
    "sequence" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "uri" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "status" "CheckpointStatus" NOT NULL DEFAULT 'WRITING',
    "models" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "runs_status_created_at_idx" ON "runs"("status", "created_at");

-- CreateIndex
CREATE INDEX "runs_kind_created_at_idx" ON "runs"("kind", "created_at");

-- CreateIndex
CREATE INDEX "runs_created_at_id_idx" ON "runs"("created_at", "id");

-- CreateIndex
CREATE INDEX "runs_base_run_id_idx" ON "runs"("base_run_id");

-- CreateIndex
CREATE INDEX "attempts_worker_id_idx" ON "attempts"("worker_id");

-- CreateIndex
CREATE UNIQUE INDEX "attempts_run_id_number_key" ON "attempts"("run_id", "number");

-- CreateIndex
CREATE INDEX "metric_points_attempt_id_idx" ON "metric_points"("attempt_id");

-- CreateIndex
CREATE UNIQUE INDEX "metric_points_run_id_name_step_key" ON "metric_points"("run_id", "name", "step");

-- CreateIndex
CREATE INDEX "metric_summaries_name_best_idx" ON "metric_summaries"("name", "best");

-- CreateIndex
CREATE INDEX "checkpoints_run_id_status_idx" ON "checkpoints"("run_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "checkpoints_run_id_sequence_key" ON "checkpoints"("run_id", "sequence");

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_base_run_id_fkey" FOREIGN KEY ("base_run_id") REFERENCES "runs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "attempts" ADD CONSTRAINT "attempts_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "attempts" ADD CONSTRAINT "attempts_worker_id_fkey" FOREIGN KEY ("worker_id") REFERENCES "workers"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_attempt_id_fkey" FOREIGN KEY ("attempt_id") REFERENCES "attempts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "metric_summaries" ADD CONSTRAINT "metric_summaries_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_attempt_id_fkey" FOREIGN KEY ("attempt_id") REFERENCES "attempts"("id") ON DELETE SET NULL ON UPDATE CASCADE;
