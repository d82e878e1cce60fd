-- Drain: an operator (POST /v1/workers/:id/drain) or SIGTERM asked the worker to take no new
-- jobs and to preempt (or finish) the ones it holds. drained_at is set once it holds none.
ALTER TABLE "workers" ADD COLUMN "drain_requested_at" TIMESTAMPTZ(3);
ALTER TABLE "workers" ADD COLUMN "drain_mode" TEXT;
ALTER TABLE "workers" ADD COLUMN "drained_at" TIMESTAMPTZ(3);
