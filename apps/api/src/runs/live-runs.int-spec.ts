import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import { Job, Worker, type Queue } from 'bullmq';
import type { RunEvent } from '@trainyard/contracts';
import { CheckpointsRepository, MetricsRepository } from '@trainyard/db';
import type { ObjectStore } from '@trainyard/storage';
import { TEST_REDIS, startTestApi, type TestApi } from '../testing/test-api';
import { RunEventsHub } from './run-events.hub';
import { OBJECT_STORE } from '@trainyard/infrastructure';

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Server-sent events fed by a real BullMQ worker (progress, then metric points, then completion)
 * and checkpoint downloads, over HTTP.
 */
describe('run events and checkpoint files (PostgreSQL, Redis, HTTP)', () => {
  const connection = TEST_REDIS;
  let api: TestApi;
  let app: INestApplication;
  let baseUrl: string;
  let queue: Queue;

  beforeAll(async () => {
    api = await startTestApi();
    ({ app, baseUrl, queue } = api);
  });

  afterAll(async () => {
    await api?.stop();
  });

  const submit = (name: string): Promise<string> => api.submitPretrain(name);

  // Event payloads are asserted field by field; a type per event would only restate the assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Frame = { type: string; data: any };

  /** Reads `event:`/`data:` frames until `until` says stop. */
  async function collectEvents(runId: string, until: (events: Frame[]) => boolean, started: () => void) {
    const controller = new AbortController();
    const res = await api.fetch(`${baseUrl}/v1/runs/${runId}/events`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events: Frame[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body!.getReader();
    let first = true;
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (type && data) events.push({ type, data: JSON.parse(data) });
      }
      if (first) {
        first = false;
        started();
      }
    }
    controller.abort();
    return events;
  }

  it('gives the first viewer of a fresh API process the events that follow its subscription at once', async () => {
    // The hub's stream reader starts with this first subscription. Read from `$`, the progress
    // below would land before the reader's first XREAD and be lost; it must not be.
    const runId = await submit('first-viewer');
    const received: RunEvent[] = [];
    const unsubscribe = await app.get(RunEventsHub).subscribe(runId, (event) => received.push(event));
    const job = await Job.fromId(queue, runId);
    try {
      await job!.updateProgress({ phase: 'training', epoch: 1 });
      await waitFor(() => received.some((e) => e.type === 'progress'), 5_000);
      expect(received.find((e) => e.type === 'progress')).toMatchObject({ runId, progress: { epoch: 1 } });
    } finally {
      unsubscribe();
      await job?.remove(); // the next test's worker takes jobs in order
    }
  });

  it('streams status, progress, new metric points and the end of a run as a worker trains it', async () => {
    const runId = await submit('live');
    const metrics = app.get(MetricsRepository);
    let worker: Worker | undefined;
    const startWorker = () => {
      worker = new Worker(
        api.queueName,
        async (job) => {
          for (let epoch = 1; epoch <= 3; epoch++) {
            await job.updateProgress({ phase: 'training', epoch, epochs: 3, step: epoch * 10, stepsPerEpoch: 10 });
            await metrics.write(runId, null, [
              { name: 'loss', step: epoch * 10, epoch, value: 1 / epoch, wallTime: new Date() },
            ]);
            await new Promise((r) => setTimeout(r, 700));
          }
          return { status: 'SUCCEEDED' };
        },
        { connection },
      );
    };
    const events = await collectEvents(
      runId,
      (e) =>
        e.some((x) => x.type === 'metrics' && x.data.points.some((p: { step: number }) => p.step === 30)) &&
        e.some((x) => x.type === 'status' && x.data.status === 'QUEUED' && e.indexOf(x) > 0),
      startWorker,
    );
    await worker?.close();
    expect(events[0]).toMatchObject({ type: 'status', data: { runId, status: 'QUEUED' } });
    expect(events.filter((e) => e.type === 'progress').map((e) => e.data.progress.epoch)).toEqual(
      expect.arrayContaining([1, 2, 3]),
    );
    const steps = events
      .filter((e) => e.type === 'metrics')
      .flatMap((e) => e.data.points.map((p: { step: number }) => p.step));
    expect(steps).toEqual([10, 20, 30]);
  }, 30_000);

  it('answers 404 for the events of an unknown run', async () => {
    expect((await api.fetch(`${baseUrl}/v1/runs/${randomUUID()}/events`)).status).toBe(404);
  });

  it('lists and streams the files of a complete checkpoint, and nothing outside it', async () => {
    const runId = await submit('with-checkpoint');
    const store = app.get<ObjectStore>(OBJECT_STORE);
    const prefix = `runs/${runId}/checkpoints/1/`;
    await store.put(`${prefix}classifier/model.json`, Buffer.from('{"format":"layers-model"}'));
    await store.put(`${prefix}manifest.json`, Buffer.from('{}'));
    await store.put(`runs/${runId}/secret.txt`, Buffer.from('no'));
    const checkpoints = app.get(CheckpointsRepository);
    const row = await checkpoints.begin({
      runId,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 10,
      uri: store.uri(prefix),
      models: ['classifier'],
    });
    await checkpoints.complete(row.id, 40, 'f'.repeat(64));

    const files = await (await api.fetch(`${baseUrl}/v1/runs/${runId}/checkpoints/1/files`)).json();
    expect(files).toEqual({
      runId,
      sequence: 1,
      files: [
        { file: 'classifier/model.json', bytes: 25 },
        { file: 'manifest.json', bytes: 2 },
      ],
    });
    const download = await api.fetch(`${baseUrl}/v1/runs/${runId}/checkpoints/1/download?file=classifier/model.json`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/attachment; filename=".*ckpt1-classifier_model.json"/);
    expect(await download.text()).toBe('{"format":"layers-model"}');
    expect((await api.fetch(`${baseUrl}/v1/runs/${runId}/checkpoints/1/download?file=../secret.txt`)).status).toBe(404);
    expect((await api.fetch(`${baseUrl}/v1/runs/${runId}/checkpoints/2/files`)).status).toBe(404);
  });

  it('streams a checkpoint file larger than 8 MiB byte for byte, 404s a missing one, and survives a store failing mid-body', async () => {
    const runId = await submit('with-big-checkpoint');
    const store = app.get<ObjectStore>(OBJECT_STORE);
    const prefix = `runs/${runId}/checkpoints/1/`;
    const weights = randomBytes(9 * 1024 * 1024 + 7);
    await store.put(`${prefix}classifier/weights.bin`, weights);
    await store.put(`${prefix}classifier/model.json`, Buffer.from('{"format":"layers-model"}'));
    const checkpoints = app.get(CheckpointsRepository);
    const row = await checkpoints.begin({
      runId,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 10,
      uri: store.uri(prefix),
      models: ['classifier'],
    });
    await checkpoints.complete(row.id, weights.length, 'f'.repeat(64));
    const url = (file: string) => `${baseUrl}/v1/runs/${runId}/checkpoints/1/download?file=${file}`;

    const big = await api.fetch(url('classifier/weights.bin'));
    expect(big.status).toBe(200);
    expect(big.headers.get('content-type')).toBe('application/octet-stream');
    expect(big.headers.get('content-length')).toBe(String(weights.length));
    const received = Buffer.from(await big.arrayBuffer());
    expect(received.length).toBe(weights.length);
    expect(createHash('sha256').update(received).digest('hex')).toBe(
      createHash('sha256').update(weights).digest('hex'),
    );
    expect((await api.fetch(url('classifier/model.json'))).headers.get('content-type')).toBe('application/json');

    // Listed, then gone before it is opened (retention deleted it): a 404, not a 500 or an empty 200.
    const getStream = jest.spyOn(store, 'getStream');
    getStream.mockImplementationOnce(async (key) => {
      await store.delete([key]);
      return store.getStream(key);
    });
    await store.put(`${prefix}classifier/extra.bin`, Buffer.from('x'));
    const gone = await api.fetch(url('classifier/extra.bin'));
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { message: string }).message).toContain('has no file "classifier/extra.bin"');

    // The store fails after 1 MiB of a 9 MiB body: the response is cut short (the client sees an
    // error, never a complete-looking file) and the API keeps serving.
    getStream.mockImplementationOnce(async () => {
      const body = new Readable({ read() {} });
      body.push(weights.subarray(0, 1024 * 1024));
      setTimeout(() => body.destroy(new Error('connection reset by the store')), 50);
      return { body, size: weights.length };
    });
    const cut = await api.fetch(url('classifier/weights.bin'));
    expect(cut.status).toBe(200);
    await expect(cut.arrayBuffer()).rejects.toThrow();
    getStream.mockRestore();
    const again = await api.fetch(url('classifier/weights.bin'));
    expect(Buffer.from(await again.arrayBuffer()).equals(weights)).toBe(true);

    // A download cut off at 5 MiB is resumed from there (before, a Range was ignored: the whole
    // file again, 200). One range only; past the end is a 416 naming the size.
    const ranged = (range: string) => api.fetch(url('classifier/weights.bin'), { headers: { range } });
    const rest = await ranged('bytes=5242880-');
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 5242880-${weights.length - 1}/${weights.length}`);
    expect(rest.headers.get('content-length')).toBe(String(weights.length - 5242880));
    expect(Buffer.from(await rest.arrayBuffer()).equals(weights.subarray(5242880))).toBe(true);
    const middle = await ranged('bytes=100-199');
    expect([middle.status, middle.headers.get('content-range')]).toEqual([206, `bytes 100-199/${weights.length}`]);
    expect(Buffer.from(await middle.arrayBuffer()).equals(weights.subarray(100, 200))).toBe(true);
    const tail = await ranged('bytes=-7');
    expect(Buffer.from(await tail.arrayBuffer()).equals(weights.subarray(-7))).toBe(true);
    expect(again.headers.get('accept-ranges')).toBe('bytes');
    const past = await ranged(`bytes=${weights.length}-`);
    expect([past.status, past.headers.get('content-range')]).toEqual([416, `bytes */${weights.length}`]);
    expect(((await past.json()) as { message: string }).message).toContain(`(${weights.length} bytes)`);
    // Hostile ranges: an offset past any safe integer is past the end; anything not one plain range is the whole file.
    expect((await ranged('bytes=99999999999999999999999-')).status).toBe(416);
    for (const range of ['bytes=0-1,5-6', 'bytes=1e3-', 'bytes=__proto__-', 'items=0-1']) {
      const whole = await ranged(range);
      expect({ range, status: whole.status, length: (await whole.arrayBuffer()).byteLength }).toEqual({
        range,
        status: 200,
        length: weights.length,
      });
    }
  });
});
