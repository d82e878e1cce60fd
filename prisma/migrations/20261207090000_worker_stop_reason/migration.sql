-- A worker killed outright (kill -9, an OOM kill, a lost node) stayed `lost` forever: nothing
-- retired its row, so `trainyard_workers{state="lost"}` never went back to 0. The live workers'
-- reconciler now records such a worker as stopped once it has been lost for WORKER_LOST_RETIRE_MS,
-- with why: 'lost' (retired by the fleet) or 'shutdown' (it stopped itself). Rows stopped before
-- this migration keep NULL: how they ended is unknown.
ALTER TABLE "workers" ADD COLUMN "stop_reason" TEXT;
