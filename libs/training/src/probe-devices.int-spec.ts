import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { probeDevices } from './probe-devices';

// Needs the compiled probe: `node tools/build.mjs libs` (the test command builds first).
// CI has no GPU: an `nvidia-smi` of the test's own on PATH stands in for the driver, and the
// test-only fake tfjs-node-gpu for the binding.
describe('probeDevices (in a process of its own)', () => {
  let bin: string;
  const FAKE_GPU = { NODE_ENV: 'test', TRAINYARD_TEST_FAKE_TFJS_NODE_GPU: '1' };

  /** A directory holding an `nvidia-smi` that prints `stdout` and exits with `code`, first on PATH. */
  async function driver(stdout: string, code = 0): Promise<Record<string, string>> {
    const dir = await mkdtemp(join(bin, 'driver-'));
    await writeFile(join(dir, 'nvidia-smi'), `#!/bin/sh\ncat <<'OUT'\n${stdout}\nOUT\nexit ${code}\n`);
    await chmod(join(dir, 'nvidia-smi'), 0o755);
    return { PATH: `${dir}${delimiter}${process.env['PATH']}` };
  }
  const twoGpus = '0, GPU-fake-0000, Fake GPU, 16384\n1, GPU-fake-0001, Fake GPU, 16384';

  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'trainyard-probe-'));
  });
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  it('reports the backend, and no GPU to train on with a CPU backend', async () => {
    const probe = await probeDevices({ backend: 'wasm', env: { PATH: bin } });
    expect(probe).toEqual({
      ok: true,
      report: { backend: 'wasm', detail: expect.stringContaining('XNNPACK'), gpus: [], unusedGpus: expect.any(Array) },
    });
  });

  it('finds the GPUs the driver lists and a GPU backend, within CUDA_VISIBLE_DEVICES', async () => {
    const all = await probeDevices({ env: { ...FAKE_GPU, ...(await driver(twoGpus)) } });
    expect(all).toEqual({
      ok: true,
      report: {
        backend: 'tensorflow-gpu',
        detail: expect.stringContaining('GPU device in use'),
        gpus: [
          { index: 0, uuid: 'GPU-fake-0000', model: 'Fake GPU', memoryMb: 16384 },
          { index: 1, uuid: 'GPU-fake-0001', model: 'Fake GPU', memoryMb: 16384 },
        ],
        unusedGpus: [],
      },
    });
    const one = await probeDevices({ env: { ...FAKE_GPU, ...(await driver(twoGpus)), CUDA_VISIBLE_DEVICES: '1' } });
    expect(one.ok && one.report.gpus.map((g) => g.index)).toEqual([1]);
  });

  it('says which GPUs a CPU backend leaves unused', async () => {
    const probe = await probeDevices({ backend: 'wasm', env: await driver(twoGpus) });
    expect(probe.ok && [probe.report.backend, probe.report.gpus.length, probe.report.unusedGpus.length]).toEqual([
      'wasm',
      0,
      2,
    ]);
  });

  it('fails, and only the probe, on a broken driver or an unavailable backend', async () => {
    const broken = await probeDevices({
      env: await driver("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 9),
    });
    expect(broken).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^device probe \(pid \d+\) ended without an outcome \(exit code 1\); its last stderr lines: .*couldn't communicate with the NVIDIA driver/,
      ),
    });
    const missing = await probeDevices({ backend: 'tensorflow', env: { PATH: bin } });
    expect(missing).toEqual({ ok: false, reason: expect.stringContaining('tfjs-node is not installed') });
  });
});
