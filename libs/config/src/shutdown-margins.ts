/**
 * How long past WORKER_SHUTDOWN_TIMEOUT_MS a stopping worker may still take: the run logs' last
 * write, the PING that says why a job was left behind, marking itself stopped and closing its
 * connections; past it the process exits whatever still waits (apps/worker's shutdown backstop).
 * Kept beside the setting, so the demo's kill of its embedded server counts it without loading the
 * worker.
 */
export const WORKER_SHUTDOWN_MARGIN_MS = 1000;
