import { z } from 'zod';
import { DatasetSpecSchema, datasetImageShape, evaluationDatasetProblem, sameShape } from './dataset.schema';
import { EVALUATION_SPLITS } from './evaluate-spec.schema';
import {
  autoencoderInputShape,
  FinetuneStepSpecSchema,
  PretrainSpecSchema,
  type FinetuneSpecInput,
  type KindImplied,
  type PretrainSpecInput,
} from './run-spec.schema';
import { ONLY_WHEN_VALID, withKind } from './schema-guards';
import { NameSchema, quoteText } from './text.schema';
import type { Inferred } from './named-schema';

/**
 * `kind` is implied by where a spec sits in a pipeline; a client may still write it. withKind is
 * typed by what it takes: a preprocess's argument is its schema's input type, which a client's
 * PipelineSpecInput is made of (an untyped one would let any step through the compiler).
 */
const pretrainWithKind: (step: KindImplied<PretrainSpecInput>) => unknown = withKind('pretrain');
const finetuneWithKind: (step: KindImplied<FinetuneSpecInput>) => unknown = withKind('finetune');

const pipelineFinetuneSchema = z.preprocess(finetuneWithKind, FinetuneStepSpecSchema).superRefine((spec, ctx) => {
  for (const key of ['baseRunId', 'baseModel', 'importedModel'] as const) {
    if (spec.model[key] !== undefined && spec.model[key] !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', key],
        message: "A pipeline fine-tune starts from the pipeline's pretrain; leave its base out",
      });
    }
  }
}, ONLY_WHEN_VALID);
export interface PipelineFinetuneSchemaType extends Inferred<typeof pipelineFinetuneSchema> {}
/**
 * A fine-tune step: a fine-tune spec without a base, because its base is the pipeline's pretrain
 * (filled in when the pretrain SUCCEEDS). Validated in full at submit like any fine-tune, but for
 * the built-in encoder's images: it builds none (its images are held against the pretrain's below).
 */
const PipelineFinetuneSchema: PipelineFinetuneSchemaType = pipelineFinetuneSchema;

const pipelineEvaluationSchema = z
  .object({
    /** Defaults to "<fine-tune name>: <split> evaluation". */
    name: NameSchema.optional(),
    /** Without a dataset, each fine-tune's own dataset (so `test` is its held-out test set). */
    dataset: DatasetSpecSchema.optional(),
    split: z.enum(EVALUATION_SPLITS).default('test'),
    topK: z.int().min(1).max(100).default(5),
    batchSize: z.int().min(1).max(1024).default(64),
  })
  .strict();
export interface PipelineEvaluationSchemaType extends Inferred<typeof pipelineEvaluationSchema> {}
/** An evaluation of every fine-tune's chosen checkpoint (its best when recorded, else its latest COMPLETE one). */
export const PipelineEvaluationSchema: PipelineEvaluationSchemaType = pipelineEvaluationSchema;
export type PipelineEvaluation = z.infer<typeof PipelineEvaluationSchema>;

/** Runs one pipeline may create: 1 pretrain + fine-tunes × (1 + evaluations). */
export const MAX_PIPELINE_RUNS = 100;

const pipelineSpecSchema = z
  .object({
    name: NameSchema,
    pretrain: z.preprocess(pretrainWithKind, PretrainSpecSchema),
    finetunes: z.array(PipelineFinetuneSchema).min(1).max(20),
    evaluations: z.array(PipelineEvaluationSchema).max(4).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const runs = 1 + p.finetunes.length * (1 + p.evaluations.length);
    if (runs > MAX_PIPELINE_RUNS) {
      ctx.addIssue({
        code: 'custom',
        path: ['finetunes'],
        message: `The pipeline would create ${runs} runs; at most ${MAX_PIPELINE_RUNS}`,
      });
    }
    // The pretrain's encoder only fits images of the shape it was trained on.
    const encoderInput = autoencoderInputShape(p.pretrain.model);
    p.finetunes.forEach((f, i) => {
      const shape = datasetImageShape(f.dataset);
      if (shape && !sameShape(shape, encoderInput)) {
        ctx.addIssue({
          code: 'custom',
          path: ['finetunes', i, 'dataset'],
          message: `Images of ${shape.join('×')} do not fit the pretrain's encoder (${encoderInput.join('×')})`,
        });
      }
    });
    // An evaluation no fine-tune's classifier could take would only fail after the whole pipeline trained.
    p.evaluations.forEach((e, i) => {
      const dataset = e.dataset;
      if (!dataset) return;
      const problem = p.finetunes
        .map((f) => evaluationDatasetProblem(dataset, f.dataset, `the classifier of fine-tune ${quoteText(f.name)}`))
        .find((why) => why !== null);
      if (problem) ctx.addIssue({ code: 'custom', path: ['evaluations', i, 'dataset'], message: problem });
    });
  }, ONLY_WHEN_VALID);
export interface PipelineSpecSchemaType extends Inferred<typeof pipelineSpecSchema> {}
export const PipelineSpecSchema: PipelineSpecSchemaType = pipelineSpecSchema;
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;
export type PipelineSpecInput = z.input<typeof PipelineSpecSchema>;

export const PIPELINE_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];
