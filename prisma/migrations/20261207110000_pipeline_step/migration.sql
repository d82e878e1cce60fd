-- A pipeline's runs were shown, and released, in an order of kind and name, not the order the
-- pipeline named them: fine-tunes ['p-ft-5', 'p-ft-10'] listed and released p-ft-10 first. Each run
-- now keeps its place in its pipeline as submitted (0: the pretrain, then each fine-tune followed by
-- its evaluations). Pipelines recorded before keep NULL and the former order.
ALTER TABLE "runs" ADD COLUMN "pipeline_step" INTEGER;
