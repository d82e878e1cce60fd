import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunSpecSchema } from '@trainyard/contracts';
import { probeDevices } from './probe-devices';
import { collectTrainingProcess } from './testing/collect-training-process';

// Needs the compiled children: `node tools/build.mjs libs` (the test command builds first).
// NestJS (and rxjs under it) is the apps' framework: a training process or a device probe that
// loaded it would spend about 0.2 s of every start on it. Each child here is started with a
// preloaded script that writes, as the process exits, every module file it loaded.
const FRAMEWORK = /[\\/]node_modules[\\/](@nestjs[\\/][^\\/]+|rxjs)[\\/]/;

describe('what the training processes load', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trainyard-child-imports-'));
    const preload = join(dir, 'list-modules.js');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(dir)} + '/modules-' + process.pid + '.json', JSON.stringify(Object.keys(require.cache))));`,
    );
    env = { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --require ${JSON.stringify(preload)}`.trim() };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The module files of every process that wrote its list since the last call, the lists then removed. */
  async function loadedModules(): Promise<string[]> {
    const lists = (await readdir(dir)).filter((name) => name.startsWith('modules-'));
    const modules: string[] = [];
    for (const name of lists) {
      modules.push(...(JSON.parse(await readFile(join(dir, name), 'utf8')) as string[]));
      await rm(join(dir, name));
    }
    expect(lists.length).toBeGreaterThan(0);
    return modules;
  }
  const framework = (modules: string[]) => [...new Set(modules.flatMap((m) => FRAMEWORK.exec(m)?.[1] ?? []))];

  it('a device probe activates its backend without loading NestJS or rxjs', async () => {
    const probe = await probeDevices({ backend: 'wasm', env });
    expect(probe.ok).toBe(true);
    const modules = await loadedModules();
    expect(modules.some((m) => m.includes('@tensorflow'))).toBe(true);
    expect(framework(modules)).toEqual([]);
  });

  it('a training process trains and checkpoints without loading NestJS or rxjs', async () => {
    const run = await collectTrainingProcess(
      {
        runId: randomUUID(),
        storage: { driver: 'local', root: dir },
        firstCheckpointSequence: 1,
        spec: RunSpecSchema.parse({
          kind: 'pretrain',
          name: 'imports',
          dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 2 },
          model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 8 },
          training: { epochs: 1, batchSize: 8, seed: 1 },
        }),
      },
      undefined,
      { env },
    );
    expect(run.outcome).toEqual({ status: 'succeeded' });
    expect(run.of('checkpoint').length).toBeGreaterThan(0);
    const modules = await loadedModules();
    expect(modules.some((m) => m.includes('tfjs-backend-wasm'))).toBe(true);
    expect(framework(modules)).toEqual([]);
  });
});
