import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerSecret } from '@trainyard/config';
import { RUN_LOG_MAX_LINE_LENGTH, RunLogLineSchema, type RunLogLine } from '@trainyard/contracts';
import { LocalObjectStore, parseRunLogChunkKey, runLogChunkKey, runLogPrefix } from '@trainyard/storage';
import { RunLogWriter, type RunLogWriterOptions } from './run-log.writer';

// A real folder store: the writer's chunks are files a reader lists and reads back.
describe('RunLogWriter', () => {
  let root: string;
  let store: LocalObjectStore;
  const runId = randomUUID();
  const writers: RunLogWriter[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-run-log-'));
    store = new LocalObjectStore(root);
  });
  afterEach(async () => {
    await Promise.all(writers.splice(0).map((w) => w.close()));
    await rm(root, { recursive: true, force: true });
  });

  const open = (options: Partial<RunLogWriterOptions> = {}) => {
    const writer = new RunLogWriter({
      store,
      runId,
      attempt: 2,
      jobId: runId,
      chunkBytes: 4096,
      flushMs: 60_000,
      ...options,
    });
    writers.push(writer);
    return writer;
  };

  /** Every chunk under the run's log prefix, in key order, parsed. */
  async function chunks(): Promise<{ key: string; size: number; lines: RunLogLine[] }[]> {
    const objects = await store.list(runLogPrefix(runId));
    return Promise.all(
      objects.map(async ({ key, size }) => ({
        key,
        size,
        lines: (await store.get(key))
          .toString('utf8')
          .trimEnd()
          .split('\n')
          .map((l) => RunLogLineSchema.parse(JSON.parse(l))),
      })),
    );
  }

  it('rotates at the size cap: chunks in key order hold every line once, in order, none past the cap', async () => {
    const writer = open({ maxPendingBytes: 1024 * 1024 });
    const messages = Array.from({ length: 60 }, (_, i) => `epoch ${i} ${'x'.repeat(150)}`);
    for (const msg of messages) writer.append('log', 'stdout', msg);
    await writer.close();
    const stored = await chunks();
    expect(stored.length).toBeGreaterThan(2);
    expect(stored.map((c) => parseRunLogChunkKey(runId, c.key))).toEqual(
      stored.map((_, i) => ({ attempt: 2, sequence: i + 1 })),
    );
    expect(stored[0]!.key).toBe(`runs/${runId}/logs/00002-000001.ndjson`);
    for (const chunk of stored) expect(chunk.size).toBeLessThanOrEqual(4096);
    expect(stored.flatMap((c) => c.lines.map((l) => l.msg))).toEqual(messages);
    expect(stored[0]!.lines[0]).toMatchObject({
      level: 'log',
      source: 'stdout',
      attempt: 2,
      jobId: runId,
      t: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('writes after the chunks the store already holds of its attempt number (PostgreSQL restored from an older backup numbers it again)', async () => {
    const line = (msg: string) =>
      `${JSON.stringify({ t: new Date().toISOString(), level: 'log', source: 'worker', attempt: 2, jobId: runId, msg })}\n`;
    await store.put(runLogChunkKey(runId, { attempt: 2, sequence: 1 }), Buffer.from(line('lost one')));
    await store.put(runLogChunkKey(runId, { attempt: 2, sequence: 2 }), Buffer.from(line('lost two')));
    await store.put(runLogChunkKey(runId, { attempt: 3, sequence: 7 }), Buffer.from(line('another attempt')));
    const writer = open();
    writer.append('log', 'worker', 'new one');
    await writer.close();
    expect((await chunks()).map((c) => [parseRunLogChunkKey(runId, c.key), c.lines.map((l) => l.msg)])).toEqual([
      [{ attempt: 2, sequence: 1 }, ['lost one']],
      [{ attempt: 2, sequence: 2 }, ['lost two']],
      [{ attempt: 2, sequence: 3 }, ['new one']],
      [{ attempt: 3, sequence: 7 }, ['another attempt']],
    ]);
  });

  it("lists nothing for a first attempt: its first chunk is the attempt's first, without a listing of the run's log", async () => {
    let listings = 0;
    const list = store.list.bind(store);
    jest.spyOn(store, 'list').mockImplementation((prefix, limits) => {
      listings++;
      return list(prefix, limits);
    });
    const first = open({ attempt: 1 });
    first.append('log', 'worker', 'first attempt');
    await first.close();
    expect(listings).toBe(0);
    const second = open({ attempt: 2 });
    second.append('log', 'worker', 'second attempt');
    await second.close();
    expect(listings).toBe(1);
    jest.restoreAllMocks();
    expect((await chunks()).map((c) => [parseRunLogChunkKey(runId, c.key), c.lines.map((l) => l.msg)])).toEqual([
      [{ attempt: 1, sequence: 1 }, ['first attempt']],
      [{ attempt: 2, sequence: 1 }, ['second attempt']],
    ]);
  });

  it('grows the open chunk in place between flushes, so a reader’s line offset stays valid', async () => {
    const writer = open();
    writer.append('log', 'worker', 'one');
    writer.append('log', 'worker', 'two');
    await writer.flush();
    expect((await chunks()).map((c) => c.lines.map((l) => l.msg))).toEqual([['one', 'two']]);
    writer.append('warn', 'stderr', 'three');
    await writer.flush();
    expect((await chunks()).map((c) => c.lines.map((l) => l.msg))).toEqual([['one', 'two', 'three']]);
  });

  it('keeps lines that come while the store is writing in the open chunk, not a new one', async () => {
    // A slow store: each put takes 200 ms, as an S3 server on a busy machine may.
    const slow = Object.create(store) as LocalObjectStore;
    slow.put = async (key, bytes) => {
      await sleep(200);
      return store.put(key, bytes);
    };
    const writer = open({ store: slow });
    writer.append('log', 'worker', 'before');
    const first = writer.flush();
    await sleep(50);
    writer.append('log', 'stdout', 'during');
    await first;
    writer.append('log', 'worker', 'after');
    await writer.close();
    expect((await chunks()).map((c) => c.lines.map((l) => l.msg))).toEqual([['before', 'during', 'after']]);
  });

  it('writes on its own every flushMs, and as soon as a chunk’s worth is waiting', async () => {
    const writer = open({ flushMs: 100 });
    writer.append('log', 'worker', 'by the timer');
    await sleep(400);
    expect((await chunks()).flatMap((c) => c.lines.map((l) => l.msg))).toEqual(['by the timer']);
    const eager = open({ flushMs: 60_000, chunkBytes: 4096 });
    for (let i = 0; i < 30; i++) eager.append('log', 'stdout', `${i} ${'y'.repeat(200)}`);
    await sleep(300);
    expect((await chunks()).flatMap((c) => c.lines).filter((l) => l.msg.endsWith('y')).length).toBeGreaterThan(0);
  });

  it('stores no secret, no raw control character, and no line past RUN_LOG_MAX_LINE_LENGTH (saying it was cut)', async () => {
    registerSecret('writer-test-secret-value');
    const writer = open({ chunkBytes: 256 * 1024 });
    writer.append('log', 'stdout', 'key writer-test-secret-value and redis://:pw@host:6379');
    writer.append('log', 'stdout', 'forged\n[Nest] 1 - LOG run SUCCEEDED \u001b[2J');
    writer.append('log', 'stdout', 'z'.repeat(RUN_LOG_MAX_LINE_LENGTH + 500));
    await writer.close();
    const [stored] = await chunks();
    const raw = (await store.get(stored!.key)).toString('utf8');
    expect(raw).not.toContain('writer-test-secret-value');
    expect(raw.split('\n').filter(Boolean)).toHaveLength(3);
    const [secret, forged, long] = stored!.lines.map((l) => l.msg);
    expect(secret).toBe('key *** and redis://:***@host:6379');
    expect(forged).toBe('forged\\n[Nest] 1 - LOG run SUCCEEDED \\u001b[2J');
    expect(long!.startsWith('z'.repeat(RUN_LOG_MAX_LINE_LENGTH))).toBe(true);
    expect(long).toMatch(/… \[500 more characters cut\]$/);
  });

  it('survives a store that refuses writes: warns once, keeps a bounded buffer, drops the oldest and says how many', async () => {
    // A file where the run's folder must go: every put fails (ENOTDIR) until it is removed.
    await writeFile(join(root, 'runs'), 'in the way');
    const errors: Error[] = [];
    const writer = open({ chunkBytes: 4096, maxPendingBytes: 2048, onStoreError: (e) => errors.push(e) });
    for (let i = 0; i < 50; i++) {
      writer.append('log', 'stdout', `line ${i} ${'w'.repeat(100)}`);
      if (i % 10 === 9) await writer.flush();
    }
    expect(errors).toHaveLength(1);
    expect((await store.list('')).map((o) => o.key)).toEqual(['runs']);

    await rm(join(root, 'runs'));
    writer.append('log', 'worker', 'store is back');
    await writer.close();
    const lines = (await chunks()).flatMap((c) => c.lines);
    const markers = lines.filter((l) => l.msg.includes('lines dropped'));
    expect(markers.length).toBeGreaterThan(0);
    for (const marker of markers) expect(marker).toMatchObject({ level: 'warn', source: 'worker' });
    const dropped = markers.reduce((sum, m) => sum + Number(/^(\d+) lines dropped/.exec(m.msg)![1]), 0);
    const kept = lines.filter((l) => l.msg.startsWith('line '));
    // Lines that reached a chunk are never dropped; of the rest, the oldest went first.
    expect(kept.length + dropped).toBe(50);
    expect(kept.map((l) => Number(l.msg.split(' ')[1]))).toEqual(
      [...kept.map((l) => Number(l.msg.split(' ')[1]))].sort((a, b) => a - b),
    );
    expect(kept.at(-1)!.msg.startsWith('line 49 ')).toBe(true);
    expect(lines.at(-1)!.msg).toBe('store is back');
  });

  it("writes a closed attempt's tail once the store is back, in that attempt's chunks; gives up after lingerMs", async () => {
    await writeFile(join(root, 'runs'), 'in the way');
    const gaveUp: number[] = [];
    const writer = open({ flushMs: 50, closeTimeoutMs: 100, onGiveUp: (lines) => gaveUp.push(lines) });
    writer.append('log', 'stdout', 'epoch 1');
    writer.append('warn', 'worker', 'the object store could not be reached; its job tries again in 10 s');
    await writer.close();
    expect(writer.allWritten()).toBe(false);
    writer.append('log', 'stdout', 'after close: not taken');
    await sleep(200);
    await rm(join(root, 'runs'));
    for (let i = 0; i < 100 && !writer.allWritten(); i++) await sleep(20);
    expect((await chunks()).map((c) => [parseRunLogChunkKey(runId, c.key), c.lines.map((l) => l.msg)])).toEqual([
      [{ attempt: 2, sequence: 1 }, ['epoch 1', 'the object store could not be reached; its job tries again in 10 s']],
    ]);
    expect(gaveUp).toEqual([]);

    // Another run whose folder is blocked for good: its tail is given up once lingerMs ran out.
    const blocked = randomUUID();
    await writeFile(join(root, 'runs', blocked), 'in the way');
    const short = open({
      runId: blocked,
      flushMs: 20,
      closeTimeoutMs: 50,
      lingerMs: 150,
      onGiveUp: (lines) => gaveUp.push(lines),
    });
    short.append('log', 'stdout', 'never stored');
    await short.close();
    for (let i = 0; i < 50 && gaveUp.length === 0; i++) await sleep(20);
    expect(gaveUp).toEqual([1]);
  });

  it('abandoned as the process stops: one last write, then the count of lines the store lacks, and nothing more', async () => {
    await writeFile(join(root, 'runs'), 'in the way');
    const gaveUp: number[] = [];
    let finished = 0;
    const writer = open({
      flushMs: 20,
      closeTimeoutMs: 50,
      lingerMs: 200,
      onGiveUp: (lines) => gaveUp.push(lines),
      onFinished: () => finished++,
    });
    writer.append('log', 'stdout', 'checkpoint 1 written');
    writer.append('warn', 'worker', 'run … PREEMPTED after a checkpoint');
    await writer.close();
    writer.append('log', 'worker', 'after close: not taken');
    expect([writer.unwritten(), finished]).toEqual([2, 0]);
    expect(await writer.abandon(100)).toBe(2);
    expect(finished).toBe(1);
    // No give-up later (it was said by whoever abandoned it), and no write once the store is back.
    await rm(join(root, 'runs'));
    await sleep(400);
    expect(gaveUp).toEqual([]);
    expect(await chunks()).toEqual([]);
    expect(await writer.abandon(100)).toBe(0);

    // One whose last write succeeds loses nothing.
    const open2 = open({ runId: randomUUID(), flushMs: 60_000 });
    open2.append('log', 'stdout', 'epoch 1');
    expect(await open2.abandon(1000)).toBe(0);
  });
});
