import {
  GIB,
  parseRunSpec,
  type RunSpecInput,
  RunSpecSchema,
  storedTrainingMemoryOnBaseRun,
  trainingMemory,
  trainingMemoryOnBaseRun,
} from '@trainyard/contracts';
import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5';

function parsed(input: RunSpecInput) {
  const result = parseRunSpec(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.spec;
}

const runDetail = (spec: unknown) => ({
  id: RUN,
  name: 'ae',
  kind: 'PRETRAIN',
  status: 'QUEUED',
  cancelRequested: false,
  failureReason: null,
  createdAt: '2026-12-05T20:00:00.000Z',
  startedAt: null,
  endedAt: null,
  baseRunId: null,
  tags: [],
  archivedAt: null,
  progress: null,
  notes: null,
  dataReport: null,
  summaries: [],
  checkpoints: [],
  attempts: [],
  result: null,
  spec,
});

/** `trainyard show` says what a training step of the run needs, as the API estimates it at submit. */
describe('trainyard show: the training-memory estimate', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  it('shows the estimate of a spec that decides its model, and no line for one that does not', async () => {
    const spec = parsed({
      kind: 'pretrain',
      name: 'ae',
      dataset: { name: 'synthetic-shapes', imageSize: 64, channels: 3 },
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
      training: { epochs: 1, batchSize: 256 },
    });
    const gib = Math.ceil((trainingMemory(spec)!.bytes / GIB) * 100) / 100;
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(runDetail(spec)) });
    const shown = await cli(['show', RUN], { TRAINYARD_URL: api.url });
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(shown.stdout.split('\n')).toContain(
      `memory    about ${gib.toFixed(2)} GiB a training step (estimated at training.batchSize 256)`,
    );
    await api.close();

    const onBase = { ...spec, kind: 'evaluate' };
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(runDetail(onBase)) });
    const none = await cli(['show', RUN], { TRAINYARD_URL: api.url });
    expect(none.code).toBe(EXIT.OK);
    expect(none.stdout).not.toMatch(/^memory/m);
  });

  it("shows a fine-tune on a base run its estimate by the base's spec, reading the base for such a run only", async () => {
    const BASE = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    const dataset = { name: 'synthetic-shapes', imageSize: 64, channels: 3 } as const;
    const base = parsed({
      kind: 'pretrain',
      name: 'ae',
      dataset,
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
      training: { epochs: 1, batchSize: 256 },
    });
    const finetune = parsed({
      kind: 'finetune',
      name: 'on ae',
      dataset,
      model: { type: 'classifier', baseRunId: BASE },
      training: { epochs: 1, batchSize: 512 },
    });
    const detail = { ...runDetail(finetune), kind: 'FINETUNE', baseRunId: BASE };
    // As the API and the worker size it: the fine-tune from scratch on the base's encoder.
    const memory = trainingMemoryOnBaseRun(finetune, base)!;
    const gib = Math.ceil((memory.bytes / GIB) * 100) / 100;
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}`]: json(detail),
      [`GET /v1/runs/${BASE}`]: json({ ...runDetail(base), id: BASE, status: 'SUCCEEDED' }),
    });
    const shown = await cli(['show', RUN], { TRAINYARD_URL: api.url });
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(shown.stdout.split('\n')).toContain(
      `memory    about ${gib.toFixed(2)} GiB a training step (estimated at training.batchSize 512)`,
    );
    expect(api.seen).toContain(`GET /v1/runs/${BASE}`);
    await api.close();

    // A base it cannot read (gone, another project's): shown without an estimate, not an error.
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(detail) });
    const unread = await cli(['show', RUN], { TRAINYARD_URL: api.url });
    expect({ code: unread.code, stderr: unread.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(unread.stdout).not.toMatch(/^memory/m);
    await api.close();

    // An evaluation names a base run too, but its model is not sized: its base is not read.
    const evaluate = parsed({ kind: 'evaluate', name: 'e', checkpoint: { runId: BASE } });
    const evaluation = { ...detail, kind: 'EVALUATE', spec: evaluate };
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(evaluation) });
    expect((await cli(['show', RUN], { TRAINYARD_URL: api.url })).code).toBe(EXIT.OK);
    expect(api.seen.filter((request) => request.includes(BASE))).toEqual([]);
  });

  it('sizes the base as the worker reads its stored spec: the same figure where the schema no longer takes it', async () => {
    const BASE = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    const dataset = { name: 'synthetic-shapes', imageSize: 64, channels: 3 } as const;
    // A registered fine-tune trained from scratch, stored by a release whose schema took a field this one does not.
    const trained = parsed({
      kind: 'finetune',
      name: 'trained',
      dataset,
      model: { type: 'classifier', inputShape: [64, 64, 3], filters: [32, 64], headUnits: 32 },
      training: { epochs: 1, batchSize: 32 },
    });
    const stored = { ...trained, model: { ...(trained as { model: object }).model, retiredField: true } };
    expect(RunSpecSchema.safeParse(stored).success).toBe(false);
    const finetune = parsed({
      kind: 'finetune',
      name: 'on it',
      dataset,
      model: { type: 'classifier', baseModel: { name: 'm', version: 1 } },
      training: { epochs: 1, batchSize: 512 },
    });
    const memory = storedTrainingMemoryOnBaseRun(finetune, stored)!;
    const gib = Math.ceil((memory.bytes / GIB) * 100) / 100;
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}`]: json({ ...runDetail(finetune), kind: 'FINETUNE', baseRunId: BASE }),
      [`GET /v1/runs/${BASE}`]: json({ ...runDetail(stored), id: BASE, kind: 'FINETUNE', status: 'SUCCEEDED' }),
    });
    const shown = await cli(['show', RUN], { TRAINYARD_URL: api.url });
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(shown.stdout.split('\n')).toContain(
      `memory    about ${gib.toFixed(2)} GiB a training step (estimated at training.batchSize 512)`,
    );
  });
});
