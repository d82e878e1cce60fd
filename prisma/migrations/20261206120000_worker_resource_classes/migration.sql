-- Resource classes: the classes whose queues a worker consumes (any, cpu, gpu) and its RAM, so the
-- API can tell at submit whether any live worker could serve a run's resources. Expand-only: a
-- worker of the previous release consumes the one queue of the `any` class and leaves memory null.
ALTER TABLE "workers" ADD COLUMN "resource_classes" TEXT[] NOT NULL DEFAULT ARRAY['any']::TEXT[];
ALTER TABLE "workers" ADD COLUMN "memory_mb" INTEGER;
