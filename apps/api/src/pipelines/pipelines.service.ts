import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, Logger, UnprocessableEntityException } from '@nestjs/common';
import {
  clipText,
  runKindOf,
  type EvaluateSpec,
  type FinetuneSpec,
  type PipelineSpec,
  type PipelineView,
  type PretrainSpec,
  trainingMemoryOnPretrain,
  withBaseArchitecture,
} from '@trainyard/contracts';
import { PipelinesRepository, type PipelineRunCreation } from '@trainyard/db';
import { applyPipelineDecision, type TrainingQueues } from '@trainyard/queue';
import { RunReferencesService } from '../runs/run-references.service';
import { RunsService } from '../runs/runs.service';
import { PlacementCheck } from '../runs/placement-check';
import { SubmissionQuota, type PlannedRun } from '../runs/submission-quota';
import { notFound } from '../http/problems';
import { TRAINING_QUEUES } from '@trainyard/infrastructure';

/**
 * Pipelines are orchestrated from PostgreSQL rather than as a BullMQ flow: a flow is a tree in
 * which a job has one parent, so "one pretrain, then N fine-tunes built on it" (a child shared
 * by N parents) cannot be expressed; and the reconciler re-adds lost jobs by run id, which would
 * silently cut a flow child from its parent. Instead every step is a run row (pipeline_id), the
 * later steps are `held`, and the worker that ends a step advances the pipeline (see
 * PipelinesRepository.advance). Payloads stay `{ runId }`.
 */
@Injectable()
export class PipelinesService {
  private readonly logger = new Logger(PipelinesService.name);

  constructor(
    private readonly pipelines: PipelinesRepository,
    private readonly references: RunReferencesService,
    private readonly runs: RunsService,
    private readonly quota: SubmissionQuota,
    private readonly placement: PlacementCheck,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
  ) {}

  async submit(spec: PipelineSpec, project: string): Promise<PipelineView> {
    this.quota.checkModelSize([
      { spec: spec.pretrain, prefix: 'pretrain.' },
      ...spec.finetunes.map((finetune, i) => ({ spec: finetune, prefix: `finetunes.${i}.` })),
    ]);
    // Every step's references (registered datasets) are checked now, not when the step is released.
    const planned: PlannedRun[] = [
      { ...(await this.references.resolve(spec.pretrain, project, 'pretrain.')), prefix: 'pretrain.' },
    ];
    for (const [i, finetune] of spec.finetunes.entries())
      planned.push({
        ...(await this.references.resolve(finetune, project, `finetunes.${i}.`)),
        prefix: `finetunes.${i}.`,
      });
    // An evaluation's own dataset is checked the way a fine-tune's is (its checkpoint does not exist yet).
    for (const [i, evaluation] of spec.evaluations.entries())
      if (evaluation.dataset)
        await this.references.resolve(
          { ...spec.finetunes[0]!, dataset: evaluation.dataset },
          project,
          `evaluations.${i}.`,
        );
    // Evaluations make one pass each over at most a fine-tune's data: the training steps bound the
    // work; but each is a run recorded as waiting, against the project's queued-runs quota (below).
    this.quota.checkImages(planned, 'finetunes');
    await this.placement.check(spec.pretrain, 'pretrain.');
    // A step trains on the encoder its pretrain makes: sized as that (trainingMemoryOnPretrain), or by what it declares.
    for (const [i, finetune] of spec.finetunes.entries())
      await this.placement.check(finetune, `finetunes.${i}.`, {
        estimateOf: () => trainingMemoryOnPretrain(finetune, spec.pretrain),
      });

    const id = randomUUID();
    const pretrainId = randomUUID();
    const runs: PipelineRunCreation[] = [
      {
        id: pretrainId,
        kind: runKindOf(spec.pretrain.kind),
        name: spec.pretrain.name,
        spec: spec.pretrain,
        baseRunId: null,
        held: false,
      },
    ];
    // The pipeline's own record says what its runs train: each fine-tune with the pretrain's encoder.
    const finetunes = spec.finetunes.map((step, i) => onPretrainEncoder(step, spec.pretrain, i));
    for (const finetune of finetunes) {
      const finetuneId = randomUUID();
      runs.push({
        id: finetuneId,
        kind: runKindOf(finetune.kind),
        name: finetune.name,
        spec: finetune,
        baseRunId: pretrainId,
        held: true,
      });
      for (const evaluation of spec.evaluations) {
        const evaluate = evaluationSpec(finetuneId, finetune, evaluation);
        runs.push({
          id: randomUUID(),
          kind: runKindOf(evaluate.kind),
          name: evaluate.name,
          spec: evaluate,
          baseRunId: finetuneId,
          held: true,
        });
      }
    }
    // Every step counts against the project's queued-runs quota, held ones too, where they are inserted.
    const limits = this.quota.projectLimits(
      project,
      [
        { spec: spec.pretrain, prefix: 'pretrain.' },
        ...spec.finetunes.map((finetune, i) => ({ spec: finetune, prefix: `finetunes.${i}.` })),
      ],
      runs.length,
    );
    await this.pipelines.create({ id, name: spec.name, spec: { ...spec, finetunes }, project }, runs, limits);
    this.logger.log(`Pipeline ${id} ("${spec.name}") with ${runs.length} runs recorded; pretrain ${pretrainId} queued`);
    try {
      await this.runs.enqueue({ id: pretrainId, kind: runKindOf(spec.pretrain.kind), spec: spec.pretrain });
    } finally {
      // A pretrain that could not be queued is FAILED by now: end the pipeline with that reason.
      await this.pipelines.advance(id);
    }
    return (await this.pipelines.get(id))!;
  }

  async detail(id: string): Promise<PipelineView> {
    const pipeline = await this.pipelines.get(id);
    if (!pipeline) throw notFound('pipeline', id);
    return pipeline;
  }

  /**
   * Cancels every step not yet ended: waiting ones at once (their jobs removed), running ones
   * between batches, held ones never start. Cancelling a CANCELLED pipeline answers it as it is;
   * one that SUCCEEDED or FAILED (even if only its steps knew it yet) is a 409.
   */
  async cancel(id: string): Promise<PipelineView> {
    const outcome = await this.pipelines.cancel(id, 'cancelled on request (POST /v1/pipelines/:id/cancel)');
    if (!outcome) throw notFound('pipeline', id);
    // Held steps have no job; remove() refuses a job a worker holds, and that worker finds CANCELLED.
    await applyPipelineDecision(this.queues, outcome, this.runs.pipelineQueue);
    const pipeline = (await this.pipelines.get(id))!;
    if (pipeline.status === 'SUCCEEDED' || pipeline.status === 'FAILED') {
      throw new ConflictException({
        message: `Pipeline ${id} already ${pipeline.status}${pipeline.failureReason ? ` (${pipeline.failureReason})` : ''}; only a RUNNING pipeline can be cancelled`,
        pipelineStatus: pipeline.status,
      });
    }
    const stopping = pipeline.runs.filter((r) => r.status === 'RUNNING').length;
    this.logger.log(
      `Pipeline ${id} ${pipeline.status}: ${outcome.cancelled.length} waiting steps cancelled now, ${stopping} running asked to stop`,
    );
    return pipeline;
  }
}

/** The evaluation of a fine-tune step: its dataset unless another is named, its final checkpoint once released. */
function evaluationSpec(
  finetuneId: string,
  finetune: FinetuneSpec,
  evaluation: PipelineSpec['evaluations'][number],
): EvaluateSpec {
  return {
    kind: 'evaluate',
    // The composed default may pass the name limit the worker checks again: clip it, whole characters only.
    name: evaluation.name ?? clipText(`${finetune.name}: ${evaluation.split} evaluation`),
    checkpoint: { runId: finetuneId },
    dataset: evaluation.dataset ?? finetune.dataset,
    split: evaluation.split,
    topK: evaluation.topK,
    batchSize: evaluation.batchSize,
  };
}

/**
 * A pipeline's fine-tune trains its pretrain's encoder: its stored spec takes the pretrain's
 * architecture (withBaseArchitecture), or a field given otherwise is a 422 naming it. A step with a
 * base of its own layers (`layers.base`), or a pretrain of the spec's own layers, is left as it is.
 */
function onPretrainEncoder(finetune: FinetuneSpec, pretrain: PretrainSpec, i: number): FinetuneSpec {
  if (pretrain.model.type !== 'conv-autoencoder' || finetune.model.layers?.base) return finetune;
  const taken = withBaseArchitecture(finetune.model, pretrain.model);
  if ('field' in taken)
    throw new UnprocessableEntityException({
      message: "The fine-tune cannot be built on the pipeline's pretrain",
      errors: [{ field: `finetunes.${i}.${taken.field}`, message: taken.message }],
    });
  return { ...finetune, model: taken.model };
}
