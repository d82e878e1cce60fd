-- Devices: what a worker's device probe found at start, so the fleet (and later the scheduler)
-- knows how many GPUs each worker trains on and how much memory one has. Expand-only: a worker of
-- the previous release leaves gpu_count at 0 and gpu_memory_mb null.
ALTER TABLE "workers" ADD COLUMN "gpu_count" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "workers" ADD COLUMN "gpu_memory_mb" INTEGER;
