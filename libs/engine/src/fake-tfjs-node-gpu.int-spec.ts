import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

// Needs the compiled fake: `node tools/build.mjs libs` (the test command builds first).
const fake = resolve(__dirname, '../../../dist/libs/engine/src/fake-tfjs-node-gpu.testing.js');

/**
 * The GPU path's tests rest on this: the fake binding, like tfjs-node's, loads once per process.
 * If the worker ever trained two jobs in one process again (in two threads, or one after the
 * other), the fake would fail the second the way the real one does.
 */
describe('the fake tfjs-node-gpu (test-only)', () => {
  const script = `
    const fake = ${JSON.stringify(fake)};
    const tf = require('@tensorflow/tfjs');
    require(fake);
    tf.setBackend('tensorflow').then(async (ok) => {
      const sum = tf.tensor([1, 2, 3]).sum().dataSync()[0];
      console.log('first load: backend ' + tf.getBackend() + ' ' + ok + ', gpu ' + tf.backend().isUsingGpuDevice + ', sum ' + sum);
      delete require.cache[require.resolve(fake)];
      try { require(fake); console.log('second load: fine'); } catch (e) { console.log('second load: ' + e.message); }
      const { Worker } = require('node:worker_threads');
      new Worker('try { require(' + JSON.stringify(fake) + '); console.log("thread load: fine"); } catch (e) { console.log("thread load: " + e.message); }', { eval: true });
    });`;
  const run = () =>
    spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, CUDA_VISIBLE_DEVICES: '3' },
    });

  it('runs ops on a backend named like the real one, and refuses a second load in the same process', () => {
    expect(existsSync(fake)).toBe(true);
    const { stdout, stderr, status } = run();
    expect(status).toBe(0);
    expect(stderr).toMatch(
      /^fake tfjs-node-gpu: loaded in process \d+ with CUDA_VISIBLE_DEVICES=3 TF_FORCE_GPU_ALLOW_GROWTH=\(unset\)$/m,
    );
    expect(stdout.trim().split('\n')).toEqual([
      'first load: backend tensorflow true, gpu true, sum 6',
      expect.stringMatching(/^second load: fake tfjs-node-gpu: the binding is already loaded in process \d+/),
      expect.stringMatching(/^thread load: fake tfjs-node-gpu: the binding is already loaded in process \d+/),
    ]);
    // A new process loads it again: each process is a fresh start.
    expect(run().stdout).toContain('first load: backend tensorflow true');
  });
});
