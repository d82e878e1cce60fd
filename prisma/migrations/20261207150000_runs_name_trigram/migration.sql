-- `GET /v1/runs?q=…` (the dashboard's search, `trainyard ls --q`) keeps the runs whose name
-- holds the text, `name ILIKE '%…%'`: no btree can answer a substring, so each page read every run
-- (77–81 ms p50 a page for a rare text at 200,000 runs, growing with the history; docs/benchmarks.md
-- "History at scale"). A trigram GIN index answers ILIKE with a pattern of 3 characters or more:
-- 1.9–2.7 ms there.
-- pg_trgm ships with PostgreSQL's contrib modules (Debian's postgresql package, the postgres image,
-- the managed services) and is a trusted extension: the database's owner may create it (PostgreSQL
-- 13 and later); the embedded database loads PGlite's own build of it (libs/db/src/open-database.ts).
-- Plain CREATE INDEX in the migration's transaction, like every other: its build holds off inserts
-- into "runs" while it reads the names, about 0.4 s at 200,000 runs (bench:history's names);
-- each insert then costs about 12 µs more (measured with 20,000-row inserts).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "runs_name_trgm_idx" ON "runs" USING GIN ("name" gin_trgm_ops);
