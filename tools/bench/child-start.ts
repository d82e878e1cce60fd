// npm run bench:child-start -- [--count N] [--backend wasm|cpu]
// What a worker pays for each process it starts: a device probe (once per worker start) and a
// training process started ahead of its attempt (once per attempt), one at a time: the wall time
// from the fork to the process being ready, and the CPU it used (read from this process's
// waited-for children, so everything the child did until it exited). And what the worker's own
// process pays to load its code (a node process that requires the compiled worker app, then exits).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { prestartTrainingProcess, probeDevices, type BackendName } from '@trainyard/training/supervisor';
import { TICKS_PER_S } from './cpu-usage';
import { machineLine } from './machine-line';
import { percentile } from './percentiles';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '10' }, backend: { type: 'string', default: 'wasm' } },
});
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 1000)
  throw new Error(`--count: a whole number from 1 to 1000, not ${values.count}`);
const backend = values.backend as BackendName;
if (!['wasm', 'cpu'].includes(backend)) throw new Error(`--backend: wasm or cpu, not ${values.backend}`);

/** CPU seconds of this process's children that have exited and been waited for (/proc/self/stat cutime + cstime). */
function childrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_S;
}

interface Sample {
  readyMs: number;
  cpuMs: number;
}

async function sample(start: () => Promise<() => Promise<void>>): Promise<Sample> {
  const cpu = childrenCpuS();
  const started = process.hrtime.bigint();
  const end = await start();
  const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
  await end();
  return { readyMs, cpuMs: (childrenCpuS() - cpu) * 1000 };
}

/** A device probe: ready when it has answered (it exits right after). */
const probe = () =>
  sample(async () => {
    const result = await probeDevices({ backend });
    if (!result.ok) throw new Error(`the probe failed: ${result.reason}`);
    return async () => undefined;
  });

/** A training process started ahead: ready when it says its backend is loaded; then discarded. */
const prestarted = () =>
  sample(async () => {
    let ready!: () => void;
    const loaded = new Promise<void>((resolve) => (ready = resolve));
    const child = prestartTrainingProcess({
      backend,
      onOutput: (line) => {
        if (line.text.startsWith('prestarted:')) ready();
        else if (line.stream === 'stderr') process.stderr.write(`  (child) ${line.text}\n`);
      },
    });
    await loaded;
    return async () => {
      child.discard();
      await child.exited;
    };
  });

const WORKER_APP = join(__dirname, '../../apps/worker/src/index.js');

/** A node process that loads the compiled worker app (every module a worker starts with) and exits. */
const workerLoad = () =>
  sample(async () => {
    await promisify(execFile)(process.execPath, ['-e', `require(${JSON.stringify(WORKER_APP)})`]);
    return async () => undefined;
  });

function describe(what: string, samples: Sample[]): string {
  const ready = samples.map((s) => s.readyMs).sort((a, b) => a - b);
  const cpu = samples.map((s) => s.cpuMs).sort((a, b) => a - b);
  return `${what}: ready p50 ${percentile(ready, 50).toFixed(0)} ms, p90 ${percentile(ready, 90).toFixed(0)} ms; CPU p50 ${percentile(cpu, 50).toFixed(0)} ms, p90 ${percentile(cpu, 90).toFixed(0)} ms (${samples.length} one at a time)`;
}

async function main(): Promise<void> {
  console.log(machineLine('child-start'));
  console.log(`backend ${backend}; the first of each kind is a warm-up, not counted`);
  for (const [what, start] of [
    ['device probe', probe],
    ['training process started ahead', prestarted],
    ["the worker app's modules loaded (node -e require)", workerLoad],
  ] as const) {
    await start();
    const samples: Sample[] = [];
    for (let i = 0; i < count; i++) samples.push(await start());
    console.log(describe(what, samples));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
