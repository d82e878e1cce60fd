// npm run bench:test-times -- --results FILE [--workers 2] [--top 15]
// Where the test suite's time goes, read from a Jest results file
// (`npx jest --ci --selectProjects unit integration --json --outputFile FILE`): the wall time, each
// file's time and their sum, the slowest files and tests, and what the order of the files could
// win: Jest hands a free worker the next file of its order (the slowest first when its cache
// knows their times, which a fresh clone's has not: the largest files first), so the run's wall
// time is at least the sum over the workers, and a late long file adds its tail to that. Each
// order is replayed with the measured times (no overhead between files) beside that floor.
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    results: { type: 'string' },
    workers: { type: 'string', default: '2' },
    top: { type: 'string', default: '15' },
  },
});
if (!values.results) throw new Error('--results: the Jest results file (jest --json --outputFile FILE) to read');
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1 || workers > 64)
  throw new Error(`--workers: a whole number from 1 to 64, not ${values.workers}`);
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1 || top > 1000)
  throw new Error(`--top: a whole number from 1 to 1000, not ${values.top}`);

interface JestResults {
  startTime: number;
  numTotalTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    assertionResults: { fullName: string; duration?: number | null }[];
  }[];
}

let results: JestResults;
try {
  results = JSON.parse(readFileSync(values.results, 'utf8')) as JestResults;
} catch (error) {
  throw new Error(`--results ${values.results}: not a readable Jest results file (${(error as Error).message})`);
}
if (!Array.isArray(results.testResults) || results.testResults.length === 0)
  throw new Error(`--results ${values.results}: holds no test files (was it written by jest --json?)`);

interface File {
  path: string;
  seconds: number;
  bytes: number;
  /** When the run started it (ms since the epoch). */
  startedAt: number;
}
const root = process.cwd() + '/';
const files: File[] = results.testResults.map((t) => ({
  path: t.name.startsWith(root) ? t.name.slice(root.length) : t.name,
  seconds: (t.endTime - t.startTime) / 1000,
  bytes: sizeOf(t.name),
  startedAt: t.startTime,
}));

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // a file since deleted: ordered last by size
  }
}

/** Wall time of `order` on `workers` workers that each take the next file when free. */
function replay(order: File[]): number {
  const busyUntil = new Array<number>(workers).fill(0);
  for (const file of order) {
    const next = busyUntil.indexOf(Math.min(...busyUntil));
    busyUntil[next]! += file.seconds;
  }
  return Math.max(...busyUntil);
}

const s = (seconds: number) => `${seconds.toFixed(0)} s`;
const sum = files.reduce((total, f) => total + f.seconds, 0);
const wall = (Math.max(...results.testResults.map((t) => t.endTime)) - results.startTime) / 1000;
const integration = files.filter((f) => f.path.endsWith('.int-spec.ts'));
const integrationSum = integration.reduce((total, f) => total + f.seconds, 0);
const slowest = [...files].sort((a, b) => b.seconds - a.seconds);

console.log(`${values.results}: ${files.length} files, ${results.numTotalTests} tests`);
console.log(
  `  wall time ${s(wall)}; the files' times sum to ${s(sum)} (integration ${s(integrationSum)} in ${integration.length} files, the rest ${s(sum - integrationSum)})`,
);
console.log(`\nreplayed on ${workers} workers with the measured times (no overhead between files):`);
console.log(
  `  floor (the sum over the workers, or the longest file): ${s(Math.max(sum / workers, slowest[0]!.seconds))}`,
);
console.log(
  `  largest files first (Jest on a fresh clone):          ${s(replay([...files].sort((a, b) => b.bytes - a.bytes)))}`,
);
console.log(`  slowest files first (Jest with its cache):            ${s(replay(slowest))}`);
console.log(
  `  the order this run took:                              ${s(
    replay([...files].sort((a, b) => a.startedAt - b.startedAt)),
  )}`,
);

console.log(`\nthe ${Math.min(top, files.length)} slowest files:`);
for (const file of slowest.slice(0, top)) console.log(`  ${file.seconds.toFixed(1).padStart(7)} s  ${file.path}`);

const tests = results.testResults
  .flatMap((t) => t.assertionResults.map((a) => ({ name: a.fullName, seconds: (a.duration ?? 0) / 1000 })))
  .sort((a, b) => b.seconds - a.seconds);
console.log(`\nthe ${Math.min(top, tests.length)} slowest tests:`);
for (const test of tests.slice(0, top))
  console.log(
    `  ${test.seconds.toFixed(1).padStart(7)} s  ${test.name.length > 110 ? test.name.slice(0, 109) + '…' : test.name}`,
  );
