-- Idempotency keys were kept as long as their runs: the client and the CLI send one with every
-- submit, so the table held a row for every run ever submitted. A keyed submit now deletes a few
-- keys older than IDEMPOTENCY_KEY_RETENTION_MS (7 days by default), oldest first, through this index.
-- Plain CREATE INDEX in the migration's transaction, like every other: its build holds off submits
-- with a key for as long as it reads the table (docs/operations.md gives the figure).
CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys"("created_at");
