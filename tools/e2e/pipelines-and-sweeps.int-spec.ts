import { Cluster, type RunBody } from './cluster';
import { waitFor } from './processes';

type PipelineBody = {
  id: string;
  status: string;
  failureReason: string | null;
  runs: (RunBody & {
    kind: string;
    name: string;
    pipelineId: string;
    held: boolean;
    baseRunId: string | null;
    baseCheckpointId: string | null;
    spec: { model: { baseRunId: string | null } };
  })[];
};
type SweepBody = {
  id: string;
  metric: string;
  counts: Record<string, number>;
  leaderboard: {
    rank: number | null;
    runId: string;
    status: string;
    params: Record<string, unknown>;
    value: number | null;
  }[];
};

const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 24, testPerClass: 5 };
const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
const tinyFinetune = (name: string, labelsPerClass?: number) => ({
  name,
  dataset: { ...shapes, ...(labelsPerClass ? { labelsPerClass } : {}) },
  model: { type: 'classifier', ...encoder },
  training: { epochs: 2, batchSize: 16, seed: 3 },
});
const pipelineSpec = (
  name: string,
  pretrainDataset: object = shapes,
  training: object = { epochs: 2, batchSize: 16 },
) => ({
  name,
  pretrain: {
    name: `${name}: ae`,
    dataset: pretrainDataset,
    model: { type: 'conv-autoencoder', ...encoder },
    training: { ...training, seed: 1 },
  },
  finetunes: [tinyFinetune(`${name}: ft 10`, 10), tinyFinetune(`${name}: ft all`)],
  evaluations: [{ split: 'test', topK: 2 }],
});

/** Pipelines and sweeps end to end: API and worker processes, real Redis, PostgreSQL and S3, tiny synthetic runs. */
describe('pipelines and sweeps (real processes, Redis, PostgreSQL, S3)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({ WORKER_CONCURRENCY: '2', WORKER_MAX_ATTEMPTS: '1' });
    await cluster.startWorker();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const post = async (path: string, body: unknown) => {
    const response = await cluster.fetch(`${cluster.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the fields its endpoint answers
    return { status: response.status, body: (await response.json()) as any };
  };
  const get = async <T>(path: string) => (await (await cluster.fetch(`${cluster.baseUrl}${path}`)).json()) as T;
  const pipelineEnds = (id: string) =>
    waitFor(
      `pipeline ${id} to end`,
      async () => {
        const p = await get<PipelineBody>(`/v1/pipelines/${id}`);
        return p.status !== 'RUNNING' && p.runs.every((r) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status))
          ? p
          : undefined;
      },
      150_000,
      () => cluster.logs(),
    );

  it('answers 400 naming the step and field of a bad pipeline', async () => {
    const bad = pipelineSpec('bad');
    bad.finetunes[1]!.training.epochs = 0;
    const { status, body } = await post('/v1/pipelines', {
      ...bad,
      finetunes: [
        ...bad.finetunes,
        { ...tinyFinetune('based'), model: { type: 'classifier', baseRunId: '00000000-0000-4000-8000-000000000000' } },
      ],
    });
    expect(status).toBe(400);
    expect(body.errors.map((e: { field: string }) => e.field)).toEqual([
      'finetunes.1.training.epochs',
      'finetunes.2.model.baseRunId',
    ]);
    expect((await cluster.pg.query(`SELECT count(*)::int AS n FROM pipelines`)).rows[0].n).toBe(0);
  });

  it('runs pretrain → 2 fine-tunes on it → their evaluations, all linked, and SUCCEEDS', async () => {
    const { status, body } = await post('/v1/pipelines', pipelineSpec('ok'));
    expect(status).toBe(201);
    expect(body.status).toBe('RUNNING');
    expect(body.runs.map((r: { kind: string; held: boolean }) => `${r.kind}${r.held ? ' held' : ''}`)).toEqual([
      'PRETRAIN',
      'FINETUNE held',
      'FINETUNE held',
      'EVALUATE held',
      'EVALUATE held',
    ]);
    const pipeline = await pipelineEnds(body.id);
    expect(pipeline.status).toBe('SUCCEEDED');
    expect(pipeline.runs.map((r) => r.status)).toEqual(Array(5).fill('SUCCEEDED'));
    const [pretrain, ...rest] = pipeline.runs;
    const finetunes = rest.filter((r) => r.kind === 'FINETUNE');
    const evaluations = rest.filter((r) => r.kind === 'EVALUATE');
    for (const finetune of finetunes) {
      // The base was filled in when the pretrain SUCCEEDED, and its checkpoint pinned.
      expect(finetune.spec.model.baseRunId).toBe(pretrain!.id);
      expect(finetune.baseRunId).toBe(pretrain!.id);
      expect(finetune.baseCheckpointId).not.toBeNull();
    }
    expect(evaluations.map((e) => e.baseRunId).sort()).toEqual(finetunes.map((f) => f.id).sort());
    for (const evaluation of evaluations)
      expect(evaluation.result).toMatchObject({ kind: 'evaluation', split: 'test', topK: { k: 2 } });
    const linked = await cluster.pg.query(`SELECT count(*)::int AS n FROM runs WHERE pipeline_id = $1 AND NOT held`, [
      body.id,
    ]);
    expect(linked.rows[0].n).toBe(5);
  }, 200_000);

  it("fails the pipeline with the failed step's reason and cancels the steps after it", async () => {
    // 96,000 steps of batch 1 are 1,000 epochs of the 96 images the API counts, past 1,000 of the
    // ~86 left for training once the validation split is made, which only the worker sees: it refuses them.
    const { status, body } = await post(
      '/v1/pipelines',
      pipelineSpec('broken', shapes, { steps: 96_000, batchSize: 1 }),
    );
    expect(status).toBe(201);
    const pipeline = await pipelineEnds(body.id);
    expect(pipeline.status).toBe('FAILED');
    const pretrain = pipeline.runs[0]!;
    expect(pretrain.status).toBe('FAILED');
    expect(pipeline.failureReason).toContain(`PRETRAIN step "broken: ae" (run ${pretrain.id}) FAILED: `);
    expect(pipeline.failureReason).toContain('training.steps');
    for (const run of pipeline.runs.slice(1)) {
      expect(run.status).toBe('CANCELLED');
      expect(run.failureReason).toContain(`pipeline ${body.id} FAILED: PRETRAIN step`);
    }
  }, 200_000);

  it('a sweep of 4 tiny runs ends with a leaderboard by test accuracy', async () => {
    const base = { ...tinyFinetune('sweep base', 10), kind: 'finetune' };
    const bad = await post('/v1/sweeps', {
      name: 'bad',
      base,
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.01, 7] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('parameters.training.learningRate.1');

    const { status, body } = await post('/v1/sweeps', {
      name: 'lr x head',
      base,
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.01, 0.001], 'model.headUnits': [0, 8] },
      metric: 'test/accuracy',
      goal: 'max',
    });
    expect(status).toBe(201);
    expect(body.runs).toBe(4);
    const sweep = await waitFor(
      'the sweep to finish',
      async () => {
        const s = await get<SweepBody>(`/v1/sweeps/${body.id}`);
        return s.leaderboard.every((e) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.status)) ? s : undefined;
      },
      150_000,
      () => cluster.logs(),
    );
    expect(sweep.counts).toEqual({ SUCCEEDED: 4 });
    const values = sweep.leaderboard.map((e) => e.value!);
    expect([...values].sort((a, b) => b - a)).toEqual(values);
    // Competition ranks: 1 + the runs with a strictly better accuracy (tiny runs often tie).
    expect(sweep.leaderboard.map((e) => e.rank)).toEqual(values.map((v) => 1 + values.filter((w) => w > v).length));
    expect(
      sweep.leaderboard.map((e) => `${e.params['training.learningRate']}/${e.params['model.headUnits']}`).sort(),
    ).toEqual(['0.001/0', '0.001/8', '0.01/0', '0.01/8']);
    const linked = await cluster.pg.query(`SELECT count(*)::int AS n FROM runs WHERE sweep_id = $1`, [body.id]);
    expect(linked.rows[0].n).toBe(4);
    // The test scores are metrics of each run too: the run list sorts by them, as the leaderboard ranks.
    const accuracy = new Map(sweep.leaderboard.map((e) => [e.runId, e.value!]));
    const listed = await get<{ items: { id: string }[] }>(
      `/v1/runs?q=${encodeURIComponent('lr x head')}&sort=metric:test/accuracy:best&limit=4`,
    );
    const order = listed.items.map((r) => accuracy.get(r.id));
    expect(order).toHaveLength(4);
    expect([...order].sort((a, b) => b! - a!)).toEqual(order);
    const detail = await get<{
      summaries: { name: string; best: number; bestStep: number }[];
      result: { selection: { best: { step: number } } };
    }>(`/v1/runs/${sweep.leaderboard[0]!.runId}`);
    const tested = detail.summaries.find((m) => m.name === 'test/accuracy');
    expect(tested?.best).toBe(sweep.leaderboard[0]!.value);
    // They stand at the step of the weights they measure: the best checkpoint's.
    expect(tested?.bestStep).toBe(detail.result.selection.best.step);
  }, 200_000);
});
