import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TrainyardClient } from '@trainyard/client';
import { Cluster, tinyPretrain } from './cluster';
import { writeColourFolder } from './image-folder-fixtures';

const CLI = resolve(__dirname, '../../dist/apps/cli/src/trainyard.js');
const RUNS = 24;

/**
 * The compiled `trainyard` (npm run build first) with `--all` against a live API (no worker: the
 * runs wait): every page is printed as it arrives, every row once and in order, and a reader that
 * stops after the first line (`| head -1`) ends the command after a page or two, not after the
 * whole list.
 */
describe('trainyard ls --all and datasets --all print each page as it arrives (subprocess, live API)', () => {
  let cluster: Cluster;
  let client: TrainyardClient;
  const home = mkdtempSync(join(tmpdir(), 'trainyard-cli-all-'));
  let env: Record<string, string>;
  /** Run ids newest first, as the API lists them. */
  let ids: string[] = [];

  const trainyard = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((done) => {
      execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });

  /** How many `GET /v1/runs` the API has answered (its request histogram in /metrics). */
  const runListRequests = async (): Promise<number> => {
    const text = await (await cluster.fetch(`${cluster.baseUrl}/metrics`)).text();
    const count = 'trainyard_http_request_duration_seconds_count{method="GET",route="/v1/runs",status_code="200"} ';
    const line = text.split('\n').find((l) => l.startsWith(count));
    return line ? Number(line.slice(count.length)) : 0;
  };

  beforeAll(async () => {
    cluster = await Cluster.start();
    client = new TrainyardClient(cluster.baseUrl, cluster.adminKey);
    env = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      TRAINYARD_URL: cluster.baseUrl,
      TRAINYARD_API_KEY: cluster.adminKey,
    };
    const submitted: string[] = [];
    for (let i = 0; i < RUNS; i++) submitted.push((await client.submit(tinyPretrain(`all ${i}`, 1, 8))).id);
    ids = (await client.listRuns({ limit: RUNS })).items.map((r) => r.id);
    expect([...ids].sort()).toEqual(submitted.sort());
    await writeColourFolder(cluster.store, 'datasets/colours/', 2);
    for (const name of ['c1', 'c2', 'c3'])
      await client.registerDataset(name, { kind: 's3', prefix: 'datasets/colours/' });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('prints every run of every page once, in order, under one header (table and JSON)', async () => {
    const table = await trainyard('ls', '--all', '--limit', '5');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+kind\s+status\s+name/);
    expect(lines.filter((l) => /^id\s/.test(l))).toHaveLength(1);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(ids);
    expect(table.stdout).not.toContain('more:');

    const json = await trainyard('ls', '--all', '--limit', '5', '--json');
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as { items: { id: string }[]; nextCursor: string | null };
    expect(page.items.map((r) => r.id)).toEqual(ids);
    expect(page.nextCursor).toBeNull();
    // What one page with all of them would print, byte for byte.
    expect(json.stdout).toBe(`${JSON.stringify(page, null, 2)}\n`);
  }, 60_000);

  it('`ls --all | head -1`: the header comes with the first page and the command ends there, exit 141', async () => {
    const before = await runListRequests();
    const started = Date.now();
    const child = spawn(
      'bash',
      ['-c', `"${process.execPath}" "${CLI}" ls --all --limit 1 | head -1; echo "exit \${PIPESTATUS[0]}"`],
      { env },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((done) => child.once('close', done));
    const took = Date.now() - started;
    expect(out).toMatch(/^id\s+kind\s+status\s+name.*\nexit 141\n$/);
    // One page a request: a command that read all 24 pages before printing asked for all of them.
    const asked = (await runListRequests()) - before;
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThan(RUNS / 2);
    expect(took).toBeLessThan(20_000);
  }, 60_000);

  it('datasets --all: every dataset of every page once, newest first', async () => {
    const table = await trainyard('datasets', '--all', '--limit', '1');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => /^id\s/.test(l))).toHaveLength(1);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[1])).toEqual(['c3', 'c2', 'c1']);
    const json = JSON.parse((await trainyard('datasets', '--all', '--limit', '1', '--json')).stdout) as {
      items: { name: string }[];
      nextCursor: null;
    };
    expect(json).toEqual({
      items: [
        expect.objectContaining({ name: 'c3' }),
        expect.objectContaining({ name: 'c2' }),
        expect.objectContaining({ name: 'c1' }),
      ],
      nextCursor: null,
    });
  }, 60_000);
});
