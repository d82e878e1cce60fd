import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { TrainyardClient } from '@trainyard/client';
import type { ApiKeyCreated, ApiKeyList, RunEvent, RunListPage } from '@trainyard/contracts';
import { Cluster, tinyPretrain } from './cluster';
import { waitFor, type AppProcess } from './processes';

const CLI = resolve(__dirname, '../../dist/apps/cli/src/trainyard.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The compiled `trainyard` command as a user runs it, a subprocess against a live API and worker
 * (npm run build first). Its stdout is a pipe, so `watch` must print plain lines.
 */
describe('trainyard CLI (subprocess, live API and worker)', () => {
  let cluster: Cluster;
  const home = mkdtempSync(join(tmpdir(), 'trainyard-cli-'));
  // No TRAINYARD_URL or key: every command reads what `login` stored under XDG_CONFIG_HOME.
  const env = { PATH: process.env['PATH'] ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config') };

  const trainyard = (...args: string[]): Promise<CliResult> =>
    new Promise((done) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          done({ code, stdout, stderr });
        },
      );
    });

  /** `trainyard` as a subprocess whose output can be read while it runs. */
  const trainyardLive = (...args: string[]): { stdout: () => string; result: Promise<CliResult> } => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const result = new Promise<CliResult>((done) =>
      child.on('close', (code) => done({ code: code ?? -1, stdout, stderr })),
    );
    return { stdout: () => stdout, result };
  };

  let worker: AppProcess;
  beforeAll(async () => {
    cluster = await Cluster.start();
    worker = await cluster.startWorker();
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  let runId = '';

  it('logs in, storing the URL and key with mode 0600; refuses a wrong key with exit 2', async () => {
    const wrong = await trainyard('login', '--url', cluster.baseUrl, '--api-key', 'x'.repeat(40));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/401/);
    // A URL without its scheme is a usage error that says so, not fetch's TypeError.
    const schemeless = cluster.baseUrl.replace(/^http:\/\//, '');
    const noScheme = await trainyard('login', '--url', schemeless, '--api-key', 'x'.repeat(40));
    expect(noScheme).toMatchObject({ code: 1, stdout: '' });
    expect(noScheme.stderr).toBe(
      `trainyard: --url: "${schemeless}" is not an http:// or https:// URL; include the scheme, e.g. http://${schemeless}\n`,
    );

    const keyFile = join(home, 'admin-key');
    writeFileSync(keyFile, `${cluster.adminKey}\n`);
    const login = await trainyard('login', '--url', cluster.baseUrl, '--key-file', keyFile, '--json');
    expect(login).toMatchObject({ code: 0 });
    const config = join(home, 'config', 'trainyard', 'config.json');
    expect(JSON.parse(login.stdout)).toMatchObject({ url: cluster.baseUrl, config });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual({ url: cluster.baseUrl, apiKey: cluster.adminKey });
  });

  it('refuses a bad spec file locally with file:line:column and exit 1', async () => {
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, stringify({ ...tinyPretrain('bad'), training: { epochs: 0, batchSize: 16 } }));
    const line =
      readFileSync(bad, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('epochs:')) + 1;
    const result = await trainyard('submit', bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:${line}:3: training.epochs: `);
    expect((await cluster.pg.query(`SELECT count(*)::int AS n FROM runs WHERE name = 'bad'`)).rows[0].n).toBe(0);
  });

  it('submits a YAML spec and watches it to SUCCEEDED with plain lines and exit 0', async () => {
    const file = join(home, 'tiny.yaml');
    writeFileSync(file, `# a tiny pretrain\n${stringify(tinyPretrain('cli tiny', 3, 20))}`);
    // The worker is stopped until the watch has the run's stream: the tiny run would otherwise end,
    // on a fast machine, before a new CLI process has connected, and the watch would see only that.
    worker.child.kill('SIGSTOP');
    let watching: ReturnType<typeof trainyardLive>;
    try {
      const submitted = await trainyard('submit', file, '--json');
      expect(submitted.code).toBe(0);
      runId = (JSON.parse(submitted.stdout) as { id: string }).id;
      expect(runId).toMatch(/^[0-9a-f-]{36}$/);
      watching = trainyardLive('watch', runId);
      await waitFor(
        'the watch to show the run QUEUED',
        async () => (watching.stdout().includes(`run ${runId} QUEUED`) ? true : undefined),
        30_000,
        () => watching.stdout(),
      );
      // Meanwhile `show` says where it stands, and the queues table counts it waiting, in BullMQ
      // and in PostgreSQL.
      expect((await trainyard('show', runId)).stdout).toMatch(
        /^queue {5}next in line in class any; 1 live worker serves it$/m,
      );
      const queues = await trainyard('queues');
      expect(queues.code).toBe(0);
      const row = queues.stdout.split('\n').find((l) => l.startsWith(`${cluster.queueName} `));
      expect(row?.split(/\s+/).slice(1, 7)).toEqual(['any', '1', '0', '0', '0', '1']);
    } finally {
      worker.child.kill('SIGCONT');
    }

    const watched = await watching.result;
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    expect(watched.stdout).not.toContain('\x1b');
    expect(watched.stdout).toMatch(/epoch \d\/3/);
    expect(watched.stdout).toContain(
      `run ${runId} QUEUED\n  waiting: next in line in class any; 1 live worker serves it\n`,
    );
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toBe(`run ${runId} SUCCEEDED`);
  });

  it('lists the run with --json, sorted by a metric', async () => {
    const listed = await trainyard('ls', '--json', '--sort', 'metric:loss:best', '--order', 'asc');
    expect(listed.code).toBe(0);
    const runs = (JSON.parse(listed.stdout) as RunListPage).items;
    expect(runs.find((r) => r.id === runId)).toMatchObject({ status: 'SUCCEEDED', name: 'cli tiny' });
    const table = await trainyard('ls', '--status', 'succeeded');
    // Its row ends with its test result: the pretrain's reconstruction error.
    expect(table.stdout.split('\n').find((line) => line.startsWith(runId))).toMatch(/ mse \d\.\d+ *$/);
  });

  it('downloads the latest checkpoint with every file checked against its manifest', async () => {
    const out = join(home, 'ckpt');
    const result = await trainyard('download', runId, '--out', out, '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      sequence: number;
      files: { file: string; sha256: string; verified: boolean }[];
    };
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    expect(Object.keys(manifest.files).length).toBeGreaterThan(0);
    for (const [file, { sha256 }] of Object.entries(manifest.files)) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(out, file)))
          .digest('hex'),
      ).toBe(sha256);
      expect(report.files.find((f) => f.file === file)).toMatchObject({ sha256, verified: true });
    }
  });

  it('the client parses the live answers with their contracts, pages runs, reads events and stops on abort', async () => {
    const client = new TrainyardClient(cluster.baseUrl, cluster.adminKey, { validateResponses: true });
    expect(await client.run(runId)).toMatchObject({ id: runId, status: 'SUCCEEDED' });
    const ids: string[] = [];
    for await (const run of client.runs({ limit: 1 })) ids.push(run.id);
    expect(ids).toContain(runId);
    const { checkpoints } = await client.checkpoints(runId);
    await client.checkpointFiles(runId, checkpoints.at(-1)!.sequence);
    await Promise.all([
      client.workers(),
      client.queues(),
      client.listDatasets(),
      client.whoami(),
      client.metrics(runId, ['loss', 'val_loss']),
      client.listProjectLimits(),
      client.projectLimits('default'),
    ]);

    const first: RunEvent[] = [];
    for await (const event of client.events(runId)) {
      first.push(event);
      break; // the stream stays open after the run's end: leaving the loop closes it
    }
    expect(first).toEqual([expect.objectContaining({ type: 'status', status: 'SUCCEEDED' })]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const aborted = async () => {
      for await (const _event of client.events(runId, { signal: controller.signal })) {
        // the snapshot, then nothing: only the abort ends this
      }
    };
    await expect(aborted()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('takes the short id of a run (its first 8 characters) wherever a run id goes', async () => {
    const short = runId.slice(0, 8);
    const shown = await trainyard('show', short, '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: runId });
    const unknown = await trainyard('show', short === 'ffffffff' ? '00000000' : 'ffffffff');
    expect(unknown.code).toBe(2);
  });

  it('prints the log, exports metrics as CSV and JSON Lines, and compares', async () => {
    const logs = await trainyard('logs', runId);
    expect(logs.code).toBe(0);
    expect(logs.stdout.split('\n').length).toBeGreaterThan(2);
    const followed = await trainyard('logs', runId, '-f', '--json');
    expect(followed.code).toBe(0);
    expect(JSON.parse(followed.stdout.split('\n')[0]!)).toMatchObject({ attempt: 1 });

    const csv = await trainyard('metrics', runId, '--format', 'csv', '--names', 'loss');
    expect(csv.stdout.split('\n').slice(0, 2)).toEqual([
      'name,step,epoch,value,wallTime,attemptId',
      expect.stringMatching(/^loss,/),
    ]);
    expect(csv.stdout.trimEnd().split('\n')).toHaveLength(1 + 3);
    const jsonl = await trainyard('metrics', runId, '--format', 'jsonl');
    expect(
      jsonl.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toContainEqual(expect.objectContaining({ name: 'loss', runId }));

    // A metric name that matches nothing is said, with the names there are (exit 0 all the same).
    const typo = await trainyard('metrics', runId, '--names', 'val_acc');
    expect(typo.code).toBe(0);
    expect(typo.stderr).toMatch(
      new RegExp(`^trainyard: warning: run ${runId} has no metric "val_acc" \\(its metrics: .*\\bloss\\b`),
    );
    const compareTypo = await trainyard('compare', runId, runId, '--names', 'val_acc');
    expect(compareTypo.stderr).toMatch(
      /^trainyard: warning: no run compared has a metric "val_acc" \((its|their) metrics: .*\bloss\b/,
    );
    expect(await trainyard('logs', runId, '--attempt', '2')).toMatchObject({
      code: 0,
      stdout: '',
      stderr: `trainyard: warning: run ${runId} has no attempt 2 (its attempts: 1)\n`,
    });

    const compared = await trainyard('compare', runId, runId, '--json');
    expect(compared.code).toBe(0);
    const comparison = JSON.parse(compared.stdout) as { runs: { run: { id: string } }[] };
    expect(comparison.runs.map((r) => r.run.id)).toContain(runId);
  });

  it('tags, finds by tag, archives, and deletes the run with a dry run first', async () => {
    expect((await trainyard('tag', runId, 'cli', 'tiny')).code).toBe(0);
    const tagged = (JSON.parse((await trainyard('ls', '--tag', 'cli', '--json')).stdout) as RunListPage).items;
    expect(tagged.map((r) => [r.id, r.tags])).toEqual([[runId, ['cli', 'tiny']]]);
    // A tag the API would refuse is refused first, named as typed.
    expect(await trainyard('tag', runId, 'Bad Tag')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('"Bad Tag" is not a valid tag'),
    });
    expect((await trainyard('note', runId, '# tiny\nthree epochs')).code).toBe(0);
    const shown = (await trainyard('show', runId)).stdout;
    expect(shown).toContain('three epochs');
    // The test report in words, and the attempt that trained it, not a line of JSON.
    expect(shown).toMatch(/^test {6}reconstruction MSE \d\.\d+ on \d+ images of the test split$/m);
    expect(shown).toMatch(/^weights {3}checkpoint \d+ \(epoch \d+, step \d+\), the best by val_\w+/m);
    expect(shown).toMatch(/^1 +\S+ +wasm +SUCCEEDED +\d+s/m);
    expect(shown).not.toContain('{"');
    expect((await trainyard('archive', runId)).code).toBe(0);
    expect((JSON.parse((await trainyard('ls', '--json')).stdout) as RunListPage).items.map((r) => r.id)).not.toContain(
      runId,
    );

    const dry = JSON.parse((await trainyard('rm', runId, '--dry-run', '--json')).stdout) as {
      dryRun: boolean;
      checkpoints: { count: number };
    };
    expect(dry).toMatchObject({ dryRun: true });
    expect(dry.checkpoints.count).toBeGreaterThan(0);
    expect((await trainyard('show', runId)).code).toBe(0);
    const removed = await trainyard('rm', runId);
    expect(removed).toMatchObject({ code: 0, stdout: expect.stringContaining(`deleted run ${runId}`) });
    expect((await trainyard('show', runId)).code).toBe(2);
  });

  it('exits 4 watching a cancelled run, 2 for an unknown run, 1 for bad usage', async () => {
    const file = join(home, 'to-cancel.json');
    writeFileSync(file, JSON.stringify(tinyPretrain('cli cancelled', 50, 60)));
    const key = `cli-cancelled-${Date.now()}`;
    const { id } = JSON.parse((await trainyard('submit', file, '--idempotency-key', key, '--json')).stdout) as {
      id: string;
    };
    // The same submit again makes nothing, and says so.
    expect(await trainyard('submit', file, '--idempotency-key', key)).toMatchObject({
      code: 0,
      stdout: `run ${id} (already submitted with this idempotency key: nothing new was made)\n`,
    });
    expect((await trainyard('cancel', id)).code).toBe(0);
    expect(await trainyard('watch', id)).toMatchObject({
      code: 4,
      stdout: expect.stringContaining(`run ${id} CANCELLED`),
    });

    const missing = await trainyard('show', '00000000-0000-4000-8000-000000000000', '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { status: 404 } });
    expect((await trainyard('ls', '--limit', 'many')).code).toBe(1);
    // Values the API would refuse (its 400, exit 2) that the CLI knows to check: usage errors, exit 1.
    for (const [flag, value] of [
      ['--limit', '0'],
      ['--status', 'DONE'],
    ]) {
      const refused = await trainyard('ls', flag!, value!, '--json');
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ error: { title: 'Usage error', errors: [{ field: flag }] } });
    }
    expect((await trainyard('frobnicate')).code).toBe(1);
    expect((await trainyard('workers', '--json')).code).toBe(0);
    expect(JSON.parse((await trainyard('queues', '--json')).stdout)).toContainEqual(
      expect.objectContaining({ name: cluster.queueName }),
    );
  });

  it("sets, shows, lists and removes a project's own limits with `limits`, refusing bad values locally", async () => {
    expect(
      await trainyard(
        'limits',
        'research',
        '--max-running',
        '3',
        '--max-queued',
        '40',
        '--max-priority',
        '0',
        '--max-upload-bytes',
        '500GiB',
      ),
    ).toMatchObject({
      code: 0,
      stdout:
        'project research: 3 runs at once (its own limit); 0 training, 0 waiting of 40 it may queue (its own quota); priority up to 0 (its own cap); uploads hold 0 B of 500.0 GiB (its own quota); checkpoints hold 0 B\n',
    });
    const listed = await trainyard('limits');
    expect(listed.code).toBe(0);
    // The cluster's worker runs without PROJECT_MAX_RUNNING, as does its API.
    expect(listed.stdout).toMatch(
      /^default running limit \(PROJECT_MAX_RUNNING\): none\ndefault queued quota \(QUOTA_QUEUED_RUNS\): 1000\ndefault priority cap \(QUOTA_MAX_PRIORITY\): 100\ndefault upload quota \(QUOTA_PROJECT_UPLOAD_BYTES\): 50.0 GiB\n/,
    );
    expect(
      listed.stdout
        .split('\n')
        .find((line) => line.startsWith('research '))
        ?.trimEnd()
        .split(/\s+/),
    ).toEqual(['research', '3', '40', '0', '500.0', 'GiB', '0', '0', '0', 'B']);
    // Two limits back to the default, the other kept.
    expect((await trainyard('limits', 'research', '--max-queued', 'default', '--max-priority', 'default')).stdout).toBe(
      'project research: 3 runs at once (its own limit); 0 training, 0 waiting of 1000 it may queue; priority up to 100; uploads hold 0 B of 500.0 GiB (its own quota); checkpoints hold 0 B\n',
    );
    expect(JSON.parse((await trainyard('limits', 'research', '--json')).stdout)).toMatchObject({
      project: 'research',
      maxRunning: 3,
      effectiveMaxRunning: 3,
      maxQueued: null,
      maxUploadBytes: 500 * 1024 ** 3,
    });
    expect(
      (await trainyard('limits', 'research', '--max-running', 'default', '--max-upload-bytes', 'default')).stdout,
    ).toBe(
      'project research: no limit; 0 training, 0 waiting of 1000 it may queue; priority up to 100; uploads hold 0 B of 50.0 GiB; checkpoints hold 0 B\n',
    );
    expect((await trainyard('limits')).stdout).toMatch(/no project has limits of its own/);
    for (const bad of [
      ['limits', 'research', '--max-running', '0'],
      ['limits', 'research', '--max-running', '1e3'],
      ['limits', 'research', '--max-running', '100001'],
      ['limits', 'research', '--max-queued', 'lots'],
      ['limits', 'research', '--max-priority', '101'],
      ['limits', 'research', '--max-priority', '-1'],
      ['limits', 'research', '--max-priority', '00'],
      ['limits', 'research', '--max-upload-bytes', '5GB'],
      ['limits', 'research', '--max-upload-bytes', '1.5GiB'],
      ['limits', 'research', '--max-upload-bytes', '2PiB'],
      ['limits', 'research', '--max-upload-bytes', '-1'],
      ['limits', 'research', '--max-running'],
      ['limits', '--max-queued', '5'],
      ['limits', 'a', 'b'],
    ])
      expect(await trainyard(...bad)).toMatchObject({ code: 1 });
    // A bad project is named before anything is sent, as --project is.
    const refused = await trainyard('limits', 'Not_A_Project', '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      error: { title: 'Usage error', errors: [{ field: 'project' }] },
    });
  });

  it("cancels a sweep's runs with `sweeps cancel`", async () => {
    const file = join(home, 'sweep.yaml');
    const base = { ...tinyPretrain('cli sweep'), kind: 'finetune', model: { type: 'classifier', baseRunId: null } };
    writeFileSync(
      file,
      stringify({
        name: 'cli sweep',
        base,
        strategy: 'grid',
        parameters: { 'training.learningRate': [0.001, 0.002, 0.004] },
        metric: 'test/accuracy',
        goal: 'max',
      }),
    );
    // The worker waits while the sweep is submitted and cancelled: every run is still waiting then.
    worker.child.kill('SIGSTOP');
    let cancelled: Awaited<ReturnType<typeof trainyard>>;
    let id: string;
    try {
      const submitted = await trainyard('submit', file, '--json');
      expect(submitted.code).toBe(0);
      ({ id } = JSON.parse(submitted.stdout) as { id: string });
      cancelled = await trainyard('sweeps', 'cancel', id);
    } finally {
      worker.child.kill('SIGCONT');
    }
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`sweep cli sweep (${id}): test/accuracy (max), 3 CANCELLED`);
    expect((await cluster.queue.getJobCounts('prioritized', 'waiting', 'active')).prioritized).toBe(0);
  });

  it('pages `ls` as the other lists: `more: --cursor C`, then the next page from it', async () => {
    // The runs of the tests before: more than two.
    const first = await trainyard('ls', '--limit', '2');
    expect(first.code).toBe(0);
    const cursor = /^more: --cursor (\S+)$/m.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const page = JSON.parse((await trainyard('ls', '--limit', '2', '--json')).stdout) as RunListPage;
    expect(page).toMatchObject({ nextCursor: cursor });
    const next = JSON.parse(
      (await trainyard('ls', '--limit', '2', '--cursor', cursor!, '--json')).stdout,
    ) as RunListPage;
    expect(next.items.length).toBeGreaterThan(0);
    expect(next.items.map((r) => r.id)).not.toContain(page.items[0]!.id);
  });

  it('makes, lists and revokes an API key with `keys`: the token printed once, refused once revoked', async () => {
    const made = await trainyard('keys', 'create', '--name', 'cli reader', '--scopes', 'read', '--project', 'research');
    expect(made.code).toBe(0);
    const token = made.stdout.trim();
    expect(made.stdout).toBe(`${token}\n`);
    const id = /^key (\S+) "cli reader" \(read; project research\)/.exec(made.stderr)?.[1];
    expect(id).toBeDefined();
    // The new key is one the API takes.
    expect((await trainyard('ls', '--api-key', token)).code).toBe(0);
    const listed = JSON.parse((await trainyard('keys', '--json')).stdout) as ApiKeyList;
    expect(listed.items.find((k) => k.id === id)).toMatchObject({
      name: 'cli reader',
      scopes: ['read'],
      revokedAt: null,
    });
    expect((await trainyard('keys', 'list')).stdout).toMatch(
      new RegExp(`^${id} +cli reader +read +research +active`, 'm'),
    );
    expect((await trainyard('keys', 'revoke', id!)).code).toBe(0);
    // Again: harmless, and said to be done already, with when.
    expect(await trainyard('keys', 'revoke', id!)).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        new RegExp(
          `^key ${id} "cli reader" was already revoked \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\): nothing changed\n$`,
        ),
      ),
    });
    const refused = await trainyard('ls', '--api-key', token);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/401/);
    const json = JSON.parse(
      (await trainyard('keys', 'create', '--name', 'cli json', '--scopes', 'read,submit', '--json')).stdout,
    ) as ApiKeyCreated;
    expect(json).toMatchObject({
      key: { name: 'cli json', scopes: ['read', 'submit'], project: null },
      token: expect.any(String),
    });
  });
});
