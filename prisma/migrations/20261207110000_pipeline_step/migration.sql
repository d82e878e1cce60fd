-- A pipeline's runs were shown, and released, by kind then name, not in the order the pipeline
-- named them: fine-tunes ['p-ft-5', 'p-ft-10'] listed and released p-ft-10 first. Each run now keeps
-- its place in its pipeline as submitted (0: the pretrain, then each fine-tune followed by its
-- evaluations), and each kind's runs are in that order. Pipelines recorded before keep NULL and
-- their runs' order by name.
ALTER TABLE "runs" ADD COLUMN "pipeline_step" INTEGER;
