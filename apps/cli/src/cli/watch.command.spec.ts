import type { ServerResponse } from 'node:http';
import { cliCommand, json, openEventStream, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';
import { watchCommandWith } from './watch.command';

const RUN = '8b9e2f4a-1c3d-4e5f-8a7b-9c0d1e2f3a4b';
const EVENTS = `GET /v1/runs/${RUN}/events`;
const STATUS = `GET /v1/runs/${RUN}`;

const state = (status: string, failureReason: string | null = null) => ({
  status,
  progress: null,
  failureReason,
  endedAt: ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(status) ? new Date().toISOString() : null,
});
const run = (status: string, failureReason: string | null = null) => ({ id: RUN, ...state(status, failureReason) });
const snapshot = (status: string) => ({ type: 'status', runId: RUN, ...state(status) });

/** An event stream that sends the status snapshot, then only keepalive comments, until the client leaves. */
const quietStream =
  (status: string): Route =>
  (_req, res) => {
    openEventStream(res)('status', snapshot(status));
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), 50);
    res.on('close', () => clearInterval(keepalive));
  };

/** An event stream whose connection breaks after the snapshot: fetch rejects the body with `TypeError: terminated`. */
const droppedStream =
  (status: string): Route =>
  (_req, res: ServerResponse) => {
    openEventStream(res)('status', snapshot(status));
    setTimeout(() => res.socket?.destroy(), 100);
  };

/** A run's event stream that drops after its RUNNING snapshot, then, reopened, repeats it and says SUCCEEDED. */
function droppedThenSucceeds(): { route: Route; opened: () => number } {
  let streams = 0;
  const route: Route = (req, res, url) => {
    if (++streams === 1) return droppedStream('RUNNING')(req, res, url);
    const send = openEventStream(res);
    send('status', snapshot('RUNNING'));
    setTimeout(() => send('status', snapshot('SUCCEEDED')), 50);
  };
  return { route, opened: () => streams };
}

describe('trainyard watch', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  // Short timings: what the command does, not how long the real ones are.
  const watch = watchCommandWith({ statusRecheckMs: 400, reconnectDelaysMs: [100, 100, 100] });
  const watchRun = () => cliCommand(watch, [RUN], { TRAINYARD_URL: api!.url });

  it('ends with 4 when the run is CANCELLED with no event (a held pipeline step cancelled in SQL)', async () => {
    api = await scriptedApi({ [EVENTS]: quietStream('QUEUED'), [STATUS]: json(run('CANCELLED')) });
    const result = await watchRun();
    expect(result).toMatchObject({ code: EXIT.RUN_CANCELLED, stderr: '' });
    expect(result.stdout).toBe(`run ${RUN} QUEUED\nrun ${RUN} CANCELLED\n`);
    // One stream, and its status read again while it was quiet.
    expect(api.seen.filter((r) => r.startsWith(EVENTS))).toHaveLength(1);
    expect(api.seen).toContain(STATUS);
  }, 15_000);

  it('reads the status only once the stream has been quiet for a while', async () => {
    let reads = 0;
    api = await scriptedApi({
      [EVENTS]: quietStream('QUEUED'),
      [STATUS]: (req, res, url) => json(run(++reads >= 2 ? 'SUCCEEDED' : 'QUEUED'))(req, res, url),
    });
    const started = Date.now();
    const result = await watchRun();
    expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(reads).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 400);
    expect(result.stdout).toBe(`run ${RUN} QUEUED\nrun ${RUN} SUCCEEDED\n`);
  }, 15_000);

  it('reconnects after a dropped stream and ends with 3 when the run FAILED meanwhile', async () => {
    let streams = 0;
    api = await scriptedApi({
      [EVENTS]: (req, res, url) =>
        ++streams === 1 ? droppedStream('RUNNING')(req, res, url) : quietStream('FAILED')(req, res, url),
      [STATUS]: json(run('FAILED', 'out of memory')),
    });
    const result = await watchRun();
    expect(result.code).toBe(EXIT.RUN_FAILED);
    expect(result.stdout).toBe(`run ${RUN} RUNNING\nrun ${RUN} FAILED\n`);
    expect(result.stderr).toMatch(/^trainyard: the connection to the API dropped: \S+; reconnecting in/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 15_000);

  it('follows a reconnected stream to the end, the repeated status not drawn twice', async () => {
    const stream = droppedThenSucceeds();
    api = await scriptedApi({ [EVENTS]: stream.route, [STATUS]: json(run('RUNNING')) });
    const result = await watchRun();
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toBe(`run ${RUN} RUNNING\nrun ${RUN} SUCCEEDED\n`);
    expect(stream.opened()).toBe(2);
  }, 15_000);

  it('gives up with exit 2 and one line when the API stays away', async () => {
    let streams = 0;
    api = await scriptedApi({
      [EVENTS]: (req, res, url) => {
        streams++;
        droppedStream('RUNNING')(req, res, url);
      },
      [STATUS]: json(run('RUNNING')),
    });
    const result = await watchRun();
    expect(result.code).toBe(EXIT.API);
    expect(streams).toBe(4); // the first, then one per pause
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(/^trainyard: the connection to the API dropped: \S+$/);
  }, 15_000);

  it('stays JSON Lines to the end with --json: the failure that ends it is one line too', async () => {
    api = await scriptedApi({
      [EVENTS]: (req, res, url) => droppedStream('RUNNING')(req, res, url),
      [STATUS]: json(run('RUNNING')),
    });
    const result = await cliCommand(watch, [RUN, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.API);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown).at(-1)).toMatchObject({
      error: { title: 'Connection to the API dropped' },
    });
    expect(lines).toHaveLength(2); // the status, then the failure
  }, 15_000);

  it('prints the status it read as a status event with --json', async () => {
    api = await scriptedApi({ [EVENTS]: quietStream('QUEUED'), [STATUS]: json(run('CANCELLED')) });
    const result = await cliCommand(watch, [RUN, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.RUN_CANCELLED);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; status: string });
    expect(lines.map((l) => [l.type, l.status])).toEqual([
      ['status', 'QUEUED'],
      ['status', 'CANCELLED'],
    ]);
  }, 15_000);

  it("prints a reconnected stream's repeated snapshot once with --json", async () => {
    const stream = droppedThenSucceeds();
    api = await scriptedApi({ [EVENTS]: stream.route, [STATUS]: json(run('RUNNING')) });
    const result = await cliCommand(watch, [RUN, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.OK);
    const statuses = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { status: string }).status);
    expect(statuses).toEqual(['RUNNING', 'SUCCEEDED']);
  }, 15_000);

  it('rides out an API that goes away after ending its stream cleanly, once the stream had opened', async () => {
    let streams = 0;
    let reads = 0;
    api = await scriptedApi({
      [EVENTS]: (_req, res) => {
        if (++streams === 1) {
          // The snapshot, then a clean end (the API restarting), and the status read finds no API.
          openEventStream(res)('status', snapshot('RUNNING'));
          return void setTimeout(() => res.end(), 50);
        }
        const send = openEventStream(res);
        send('status', snapshot('RUNNING'));
        setTimeout(() => send('status', snapshot('SUCCEEDED')), 50);
      },
      [STATUS]: (req, res, url) => (++reads === 1 ? res.socket?.destroy() : json(run('RUNNING'))(req, res, url)),
    });
    const result = await watchRun();
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toBe(`run ${RUN} RUNNING\nrun ${RUN} SUCCEEDED\n`);
    expect(streams).toBe(2);
  }, 15_000);

  describe('interrupted (Ctrl-C)', () => {
    /** A stream of progress reports every 20 ms until the client leaves. */
    const training: Route = (_req, res) => {
      const send = openEventStream(res);
      send('status', snapshot('RUNNING'));
      let step = 0;
      const timer = setInterval(() => {
        step += 10;
        send('progress', {
          type: 'progress',
          runId: RUN,
          progress: { phase: 'training', epoch: 1, epochs: 9, step, stepsPerEpoch: 100, etaSeconds: 11 },
        });
      }, 20);
      res.on('close', () => clearInterval(timer));
    };
    /** Ctrl-C once `seen` matches what was written. */
    const ctrlCWhen = (seen: RegExp) => {
      const interrupt = new AbortController();
      let written = '';
      return {
        signal: interrupt.signal,
        onOut: (text: string) => {
          written += text;
          if (seen.test(written)) interrupt.abort();
        },
      };
    };

    it('exits 130, the progress line ended before the message', async () => {
      api = await scriptedApi({ [EVENTS]: training, [STATUS]: json(run('RUNNING')) });
      const result = await cliCommand(
        watch,
        [RUN],
        { TRAINYARD_URL: api.url },
        { stdoutIsTty: true, ...ctrlCWhen(/ETA 11s/) },
      );
      expect(result).toMatchObject({ code: EXIT.INTERRUPTED, stderr: 'trainyard: interrupted\n' });
      expect(result.stdout).toMatch(/ETA 11s\n$/);
    }, 15_000);

    it('redraws with no escape sequence on a dumb terminal (TERM=dumb)', async () => {
      api = await scriptedApi({ [EVENTS]: training, [STATUS]: json(run('RUNNING')) });
      const result = await cliCommand(
        watch,
        [RUN],
        { TRAINYARD_URL: api.url, TERM: 'dumb' },
        { stdoutIsTty: true, ...ctrlCWhen(/(\r[^\r]*ETA 11s){3}/) },
      );
      expect(result.code).toBe(EXIT.INTERRUPTED);
      expect(result.stdout).toContain('\rtraining');
      expect(result.stdout).not.toContain('\x1b');
    }, 15_000);

    it('exits 130 with --json', async () => {
      api = await scriptedApi({ [EVENTS]: training, [STATUS]: json(run('RUNNING')) });
      const result = await cliCommand(watch, [RUN, '--json'], { TRAINYARD_URL: api.url }, ctrlCWhen(/"progress"/));
      expect(result).toMatchObject({ code: EXIT.INTERRUPTED, stderr: 'trainyard: interrupted\n' });
    }, 15_000);
  });
});
