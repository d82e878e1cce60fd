import type { WorkerView } from '@trainyard/contracts';
import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = (n: number) => `${n}1111111-2222-4333-8444-555555555555`;
const worker = (over: Partial<WorkerView>): WorkerView => ({
  id: 'gpu-node-7-1a2b3c4d',
  hostname: 'gpu-node',
  pid: 7,
  backend: 'tensorflow-gpu',
  gpu: 'NVIDIA H100',
  gpuCount: 8,
  gpuMemoryMb: 81559,
  resourceClasses: ['gpu', 'any'],
  memoryMb: 2_000_000,
  concurrency: 8,
  startedAt: '2026-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2026-01-01T01:00:00.000Z',
  stoppedAt: null,
  stopReason: null,
  drainRequestedAt: null,
  drainMode: null,
  drainedAt: null,
  state: 'alive',
  running: [],
  ...over,
});

describe('trainyard workers', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const at = (n: number) => ({ runId: RUN(n), number: 1, startedAt: '2026-01-01T00:30:00.000Z' });
  const workers = [
    worker({ running: [1, 2, 3, 4, 5].map(at) }),
    worker({
      id: 'cpu-node-9-5e6f7a8b',
      backend: 'wasm',
      gpu: null,
      gpuCount: 0,
      resourceClasses: ['cpu', 'any'],
      concurrency: 1,
      running: [at(6)],
    }),
    worker({ id: 'old-node-3-9c0d1e2f', state: 'stopped', stopReason: 'lost', concurrency: 1, resourceClasses: [] }),
  ];

  it('lists each worker with its resource classes and the runs it trains (short ids, a few then a count)', async () => {
    api = await scriptedApi({ 'GET /v1/workers': json({ workers }) });
    const result = await cli(['workers'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.OK);
    const rows = result.stdout.trimEnd().split('\n');
    expect(rows[0]!.trimEnd().split(/ {2,}/)).toEqual([
      'worker',
      'state',
      'classes',
      'backend',
      'gpu',
      'running',
      'runs',
      'last heartbeat',
    ]);
    expect(rows.slice(2).map((r) => r.trimEnd().split(/ {2,}/))).toEqual([
      [
        'gpu-node-7-1a2b3c4d',
        'alive',
        'gpu,any',
        'tensorflow-gpu',
        'NVIDIA H100',
        '5/8',
        '11111111,21111111,31111111 +2',
        '2026-01-01 01:00:00',
      ],
      ['cpu-node-9-5e6f7a8b', 'alive', 'cpu,any', 'wasm', '-', '1/1', '61111111', '2026-01-01 01:00:00'],
      ['old-node-3-9c0d1e2f', 'stopped', '-', 'tensorflow-gpu', 'NVIDIA H100', '0/1', '-', '2026-01-01 01:00:00'],
    ]);
  });

  it('--json is the list as the API gives it', async () => {
    api = await scriptedApi({ 'GET /v1/workers': json({ workers }) });
    const result = await cli(['workers', '--json'], { TRAINYARD_URL: api.url });
    expect(JSON.parse(result.stdout)).toEqual(workers);
  });
});

describe('trainyard limits PROJECT', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  it.each([[['limits', 'Team']], [['limits', 'Team', '--max-running', '3']]])(
    '%j: a project name the API would refuse is a usage error naming it, nothing sent (exit 1)',
    async (argv) => {
      api = await scriptedApi({});
      const result = await cli(argv, { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toMatch(/^trainyard: project: Expected 1 to 63 lowercase letters.* \(got "Team"\)\n$/);
      expect(api.seen).toEqual([]);
    },
  );
});
