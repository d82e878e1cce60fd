-- The rollup trigger re-reads each block a statement touched, but its join of the touched blocks
-- to metric_points was planned as a merge join over the whole series of each touched metric (the
-- transition table has no statistics): a resume superseding 9,990 points of a 1,000,000-point run
-- spent 0.75–1 s in it, and a 4,000,000-point run several seconds, in the fenced transaction that
-- opens the resume and under its statement bound. The same function, each block now read on its
-- own through the (run_id, name, step) index (LATERAL): O(points of the touched blocks). A block
-- left with no point gets no row (count 0), as before. Every trigger keeps calling this function.
CREATE OR REPLACE FUNCTION "metric_rollups_refresh"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_rollups" r USING (SELECT DISTINCT c."run_id", c."name", c."step" / 256 AS "block" FROM "changed" c) t
    WHERE r."run_id" = t."run_id" AND r."name" = t."name" AND r."block" = t."block";
  INSERT INTO "metric_rollups"
    ("run_id", "name", "block", "count", "first_step", "last_step", "last_value", "min_step", "min_value", "max_step", "max_value")
  SELECT t."run_id", t."name", t."block", a."count", a."first_step", a."last_step", a."last_value",
    a."min_step", a."min_value", a."max_step", a."max_value"
  FROM (SELECT DISTINCT c."run_id", c."name", c."step" / 256 AS "block" FROM "changed" c) t
  CROSS JOIN LATERAL (
    SELECT count(*)::int4 AS "count", min(p."step") AS "first_step", max(p."step") AS "last_step",
      (array_agg(p."value" ORDER BY p."step" DESC))[1] AS "last_value",
      (array_agg(p."step" ORDER BY p."value" ASC, p."step" ASC))[1] AS "min_step", min(p."value") AS "min_value",
      (array_agg(p."step" ORDER BY p."value" DESC, p."step" ASC))[1] AS "max_step", max(p."value") AS "max_value"
    FROM "metric_points" p
    WHERE p."run_id" = t."run_id" AND p."name" = t."name"
      AND p."step" >= t."block" * 256 AND p."step" < (t."block" + 1) * 256
  ) a
  WHERE a."count" > 0;
  RETURN NULL;
END
$$;
