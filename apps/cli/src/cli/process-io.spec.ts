import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { json, openEventStream, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

// The compiled command, run as a user runs it: `node tools/build.mjs apps/cli` (or npm run build) first.
const CLI = resolve(__dirname, '../../../../dist/apps/cli/src/trainyard.js');
const RUN = '3f4a5b6c-7d8e-4f90-8a1b-2c3d4e5f6a7b';

const logLine = (n: number) => ({
  t: '2026-01-01T00:00:00.000Z',
  attempt: 1,
  source: 'worker',
  level: 'info',
  msg: `line ${n}`,
});
/** A stream that writes `event` every 5 ms until the client leaves, and counts the clients that left. */
function endless(write: (send: ReturnType<typeof openEventStream>, n: number) => void, left: { count: number }): Route {
  return (req, res) => {
    const send = openEventStream(res);
    let n = 0;
    const timer = setInterval(() => write(send, n++), 5);
    req.on('close', () => {
      clearInterval(timer);
      left.count++;
    });
  };
}

/**
 * `trainyard ARGV…` as a child process whose stdout is a pipe the reader closes after the first
 * bytes, as `| head -1` does: how it ends, what it said on stderr, and how long after the close.
 */
function readerLeavesEarly(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: string | null; stderr: string; afterCloseMs: number }> {
  const child = spawn(process.execPath, [CLI, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let closedAt = 0;
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.once('data', () => {
    closedAt = Date.now();
    child.stdout.destroy(); // the read end closed: the command's next write finds no reader (EPIPE)
  });
  return new Promise((done) =>
    child.on('close', (code, signal) => done({ code, signal, stderr, afterCloseMs: Date.now() - closedAt })),
  );
}

describe('trainyard with its stdout closed early (`| head`)', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-closed-output-'));
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const env = () => ({ PATH: process.env['PATH'] ?? '', XDG_CONFIG_HOME: home, TRAINYARD_URL: api!.url });

  it.each([
    ['logs -f (a stream that never ends)', ['logs', RUN, '-f']],
    ['watch --json (events that never end)', ['watch', RUN, '--json']],
    ['logs (page after page)', ['logs', RUN]],
  ])('%s stops at once, exit 141, no stack trace, its stream closed', async (_name, argv) => {
    const left = { count: 0 };
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}/logs`]: (req, res, url) =>
        url.searchParams.get('follow')
          ? endless((send, n) => send('line', logLine(n), `c${n}`), left)(req, res, url)
          : json({ lines: Array.from({ length: 200 }, (_, n) => logLine(n)), complete: false, next: 'more' })(
              req,
              res,
              url,
            ),
      [`GET /v1/runs/${RUN}/events`]: endless((send, n) => {
        if (n === 0)
          send('status', {
            type: 'status',
            runId: RUN,
            status: 'RUNNING',
            progress: null,
            failureReason: null,
            endedAt: null,
          });
        else
          send('progress', {
            type: 'progress',
            runId: RUN,
            progress: { phase: 'train', epoch: 1, epochs: 9, step: n },
          });
      }, left),
    });
    const result = await readerLeavesEarly(argv, env());
    expect(result).toMatchObject({ code: EXIT.OUTPUT_CLOSED, signal: null, stderr: '' });
    // Ended by its aborted requests, not by the grace period after which the process exits regardless.
    expect(result.afterCloseMs).toBeLessThan(1_500);
    if (argv.includes('-f') || argv[0] === 'watch') expect(left.count).toBe(1);
  });

  it('is what a shell pipeline into `head -1` sees: one line, exit 141 under pipefail, nothing on stderr', async () => {
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}/logs`]: endless((send, n) => send('line', logLine(n), `c${n}`), { count: 0 }),
    });
    // Async: the scripted API answers from this process. stdin not a socket, or bash takes itself
    // for a remote shell and reads ~/.bashrc.
    const bash = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" logs ${RUN} -f | head -1`], {
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
    const shell = { code: null as number | null, stdout: '', stderr: '' };
    bash.stdout.on('data', (chunk) => (shell.stdout += chunk));
    bash.stderr.on('data', (chunk) => (shell.stderr += chunk));
    await new Promise<void>((done) => bash.on('close', (code) => ((shell.code = code), done())));
    expect(shell).toEqual({
      code: EXIT.OUTPUT_CLOSED,
      stdout: '2026-01-01T00:00:00.000Z #1 worker line 0\n',
      stderr: '',
    });
  });

  (existsSync('/dev/full') ? it : it.skip)(
    'says in one line that stdout takes no more (`> /dev/full`), exit 7, no stack trace',
    async () => {
      api = await scriptedApi({ 'GET /v1/runs': json({ items: [], nextCursor: null }) });
      const full = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, [CLI, 'ls'], { env: env(), stdio: ['ignore', full, 'pipe'] });
      closeSync(full);
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const code = await new Promise<number | null>((done) => child.on('close', done));
      expect({ code, stderr }).toEqual({
        code: EXIT.LOCAL_IO,
        stderr: 'trainyard: cannot write to stdout: no space left on the device (ENOSPC)\n',
      });
    },
  );
});
