import { GIB, parseRunSpec, type RunSpecInput, trainingMemory } from '@trainyard/contracts';
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
});
