import type { INestApplication } from '@nestjs/common';
import { Job } from 'bullmq';
import { RunsRepository } from '@trainyard/db';
import { createApiApp } from '../create-api-app';
import { projectKey, requestAs, signIn } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';
import { KEY_CACHE_TTL_MS } from './api-key.authenticator';
import { REVOKED_KEY_FAREWELL } from './open-request-key.check';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What a loaded machine may add to a check: the database read, the write, the client's read. */
const SLACK_MS = 2_500;

/** An open answer read as it comes: all its text so far, and when (if) it ended. */
interface OpenStream {
  name: string;
  text: string;
  endedAt?: number;
  ended: Promise<void>;
  abort(): void;
}

async function open(name: string, url: string, headers: Record<string, string>): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
  const stream: OpenStream = { name, text: '', ended: Promise.resolve(), abort: () => controller.abort() };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  stream.ended = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) break;
      stream.text += decoder.decode(value, { stream: true });
    }
    stream.endedAt = Date.now();
  })();
  return stream;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A revoked key loses its open streams, not only its next requests: on the replica that revoked
 * it at once, on another within KEY_CACHE_TTL_MS (the real 5 s: its next check asks the database),
 * event streams and followed logs alike, by header or session cookie; another key's streams go on.
 */
describe('streams of a revoked key (PostgreSQL, Redis, two API replicas, HTTP)', () => {
  let api: TestApi;
  let replica: INestApplication;
  let replicaUrl: string;
  const streams: OpenStream[] = [];

  beforeAll(async () => {
    api = await startTestApi({ env: { SSE_MAX_PER_KEY: '10' } });
    replica = await createApiApp(api.config, {
      queueName: api.queueName,
      logger: false,
      shutdownHooks: false,
      openApi: false,
    });
    await replica.listen(0, '127.0.0.1');
    replicaUrl = await replica.getUrl();
  });

  afterAll(async () => {
    for (const stream of streams) stream.abort();
    await replica?.close();
    await api?.stop();
  });

  it('ends every stream of the key, with a last line saying why, and keeps the streams of other keys', async () => {
    const runId = await api.submitPretrain('watched while its key is revoked');
    await api.app.get(RunsRepository).markRunning(runId, 'cpu');
    const revoked = await projectKey(api, 'default', ['read']);
    const kept = await projectKey(api, 'default', ['read']);
    const revokedId = (await requestAs(api, revoked, 'GET', '/v1/whoami')).body.keyId as string;
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    // A session of each key, signed in here: the other replica knows it from the database.
    const sessions = new Map([
      [revoked, await signIn(api.baseUrl, revoked)],
      [kept, await signIn(api.baseUrl, kept)],
    ]);
    const cookie = (key: string) => ({ cookie: sessions.get(key)! });
    const events = `/v1/runs/${runId}/events`;
    const logs = `/v1/runs/${runId}/logs?follow=true`;

    const here = await Promise.all([
      open('events here, by header', `${api.baseUrl}${events}`, bearer(revoked)),
      open('followed log here, by header', `${api.baseUrl}${logs}`, bearer(revoked)),
      open('events here, by session cookie', `${api.baseUrl}${events}`, cookie(revoked)),
    ]);
    const there = await Promise.all([
      open('events on the other replica', `${replicaUrl}${events}`, bearer(revoked)),
      open('followed log on the other replica', `${replicaUrl}${logs}`, bearer(revoked)),
      open('followed log on the other replica, by session cookie', `${replicaUrl}${logs}`, cookie(revoked)),
    ]);
    const others = await Promise.all([
      open("another key's events here", `${api.baseUrl}${events}`, bearer(kept)),
      open("another key's events on the other replica", `${replicaUrl}${events}`, bearer(kept)),
      open("another key's followed log on the other replica", `${replicaUrl}${logs}`, cookie(kept)),
    ]);
    streams.push(...here, ...there, ...others);
    // Every event stream has begun (its snapshot), so each is live before the key goes.
    for (const stream of [...here, ...there, ...others].filter((s) => s.name.includes('events')))
      await waitFor(`${stream.name}: its snapshot`, () => stream.text.includes('event: status'), 5_000);

    const revokedAt = Date.now();
    expect((await requestAs(api, api.adminKey, 'DELETE', `/v1/keys/${revokedId}`)).status).toBe(200);
    // New requests are refused here at once (and on the other replica once its cache lets go).
    expect((await requestAs(api, revoked, 'GET', '/v1/whoami')).status).toBe(401);

    for (const stream of here) await waitFor(`${stream.name}: ended`, () => stream.endedAt !== undefined, SLACK_MS);
    for (const stream of there)
      await waitFor(
        `${stream.name}: ended`,
        () => stream.endedAt !== undefined,
        KEY_CACHE_TTL_MS + SLACK_MS - (Date.now() - revokedAt),
      );
    for (const stream of [...here, ...there])
      expect({ stream: stream.name, endsWith: stream.text.slice(-REVOKED_KEY_FAREWELL.length) }).toEqual({
        stream: stream.name,
        endsWith: REVOKED_KEY_FAREWELL,
      });

    // Both replicas have checked their open streams since (a check every KEY_CACHE_TTL_MS): the
    // other key's are still open and still carry what happens.
    await sleep(Math.max(0, KEY_CACHE_TTL_MS + 500 - (Date.now() - revokedAt)));
    for (const stream of others)
      expect({ stream: stream.name, ended: stream.endedAt }).toEqual({ stream: stream.name });
    const job = await Job.fromId(api.queue, runId);
    await job!.updateProgress({ phase: 'training', epoch: 7 });
    for (const stream of others.filter((s) => s.name.includes('events')))
      await waitFor(`${stream.name}: the progress event`, () => stream.text.includes('"epoch":7'), 5_000);
    expect(others.every((stream) => stream.endedAt === undefined)).toBe(true);
    expect(others.some((stream) => stream.text.includes(REVOKED_KEY_FAREWELL))).toBe(false);
  }, 30_000);
});
