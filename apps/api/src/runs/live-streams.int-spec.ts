import { Job } from 'bullmq';
import type { RunEvent } from '@trainyard/contracts';
import type { FreezableProxy } from '@trainyard/db/testing';
import { silentClient } from '../testing/silent-client';
import { startTestApi, type TestApi } from '../testing/test-api';
import { startTestApiBehindProxy } from '../testing/test-api-behind-proxy';
import { MAX_UNREAD_BYTES } from './run-events.controller';
import { RunEventsHub } from './run-events.hub';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Live streams whose clients leave early, over HTTP, with a PostgreSQL that can be made to stall
 * (a proxy in front of the real server), so that a client can be gone before the stream starts:
 * its place under SSE_MAX_PER_KEY comes back, and the run's channel in the events hub is neither
 * dropped under a viewer still joining nor kept for nobody.
 */
describe('live streams whose clients leave early (PostgreSQL behind a proxy, Redis, HTTP)', () => {
  let proxy: FreezableProxy;
  let api: TestApi;

  beforeAll(async () => {
    ({ api, proxy } = await startTestApiBehindProxy({ SSE_MAX_PER_KEY: '2' }));
  });

  afterAll(async () => {
    proxy?.thaw();
    await api?.stop();
    await proxy?.close();
  });

  it('gives back the place of a stream whose client left before it started, events and logs alike', async () => {
    const runId = await api.submitPretrain('left early');
    // The key is verified (and cached) now: only the run's lookups wait on the stalled database.
    expect((await api.fetch(`${api.baseUrl}/v1/runs/${runId}`)).status).toBe(200);
    const paths = [`/v1/runs/${runId}/events`, `/v1/runs/${runId}/logs?follow=true`];
    proxy.freeze();
    const left: Promise<unknown>[] = [];
    try {
      for (let i = 0; i < 3; i++)
        for (const path of paths) {
          const controller = new AbortController();
          left.push(api.fetch(`${api.baseUrl}${path}`, { signal: controller.signal }).catch(() => undefined));
          await sleep(50);
          controller.abort();
        }
      await Promise.all(left);
      await sleep(300);
    } finally {
      proxy.thaw();
    }
    // Six streams left before they started, against a limit of 2 per key: each gave its place back.
    for (const path of paths) {
      const open = async () => {
        const controller = new AbortController();
        const res = await api.fetch(`${api.baseUrl}${path}`, { signal: controller.signal });
        controller.abort();
        return res.status === 200;
      };
      await waitFor(open, 5_000);
    }
    await waitFor(() => api.app.get(RunEventsHub).watchedRuns === 0, 5_000);
  });

  it('keeps the channel of a viewer still joining when another viewer of the run leaves', async () => {
    const runId = await api.submitPretrain('two viewers');
    const hub = api.app.get(RunEventsHub);
    const received: RunEvent[] = [];
    // Both join while the database stalls (the channel is still learning where the run's points end).
    proxy.freeze();
    let first: Promise<() => void>;
    let second: Promise<() => void>;
    try {
      first = hub.subscribe(runId, (event) => received.push(event));
      await sleep(100);
      second = hub.subscribe(runId, () => undefined);
      await sleep(100);
    } finally {
      proxy.thaw();
    }
    // The second viewer leaves as soon as it is in; the first must still get the run's events.
    (await second)();
    const unsubscribe = await first;
    const job = await Job.fromId(api.queue, runId);
    try {
      await job!.updateProgress({ phase: 'training', epoch: 3 });
      await waitFor(() => received.some((e) => e.type === 'progress'), 5_000);
      expect(received.find((e) => e.type === 'progress')).toMatchObject({ runId, progress: { epoch: 3 } });
    } finally {
      unsubscribe();
    }
    expect(hub.watchedRuns).toBe(0);
  });

  it('lets go of a client that stops reading its events, rather than holding them for it', async () => {
    const runId = await api.submitPretrain('never read');
    const url = new URL(`${api.baseUrl}/v1/runs/${runId}/events`);
    // A client that sends its request and then never reads a byte.
    const socket = silentClient(url, api.authHeaders.authorization);
    const hub = api.app.get(RunEventsHub);
    await waitFor(() => hub.watchedRuns === 1, 5_000);
    // Progress events of 64 KiB each, far more than the bound and the sockets' own buffers. The
    // client still holds its connection: only the server can end the stream (its subscription).
    const job = await Job.fromId(api.queue, runId);
    const padding = 'x'.repeat(64 * 1024);
    expect(400 * padding.length).toBeGreaterThan(4 * MAX_UNREAD_BYTES);
    try {
      for (let i = 0; i < 400 && hub.watchedRuns > 0; i++) {
        await job!.updateProgress({ phase: 'training', epoch: i, padding });
        if (i % 50 === 49) await sleep(100);
      }
      await waitFor(() => hub.watchedRuns === 0, 10_000);
    } finally {
      socket.destroy();
    }
  }, 60_000);
});

describe('live streams at shutdown (PostgreSQL, Redis, HTTP)', () => {
  it('ends every open stream first, so the API closes rather than wait for its clients', async () => {
    const api = await startTestApi();
    let closed = false;
    try {
      const runId = await api.submitPretrain('watched at shutdown');
      const streams = await Promise.all(
        [`/v1/runs/${runId}/events`, `/v1/runs/${runId}/logs?follow=true`].map((path) =>
          api.fetch(`${api.baseUrl}${path}`),
        ),
      );
      expect(streams.map((res) => res.status)).toEqual([200, 200]);
      const ended = streams.map(async (res) => {
        const reader = res.body!.getReader();
        while (!(await reader.read().catch(() => ({ done: true }))).done);
      });
      // A dashboard left on a run's page held the HTTP server's close until the process was killed.
      const closing = api.app.close().then(() => (closed = true));
      await Promise.race([closing, sleep(10_000)]);
      expect(closed).toBe(true);
      await Promise.all(ended);
    } finally {
      if (!closed) await api.app.close().catch(() => undefined);
      await api.stop().catch(() => undefined);
    }
  }, 30_000);
});
