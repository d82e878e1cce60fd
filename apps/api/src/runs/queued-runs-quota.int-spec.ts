import { randomUUID } from 'node:crypto';
import type { Database } from '@trainyard/db';
import { DATABASE } from '@trainyard/infrastructure';
import { startTestApi, type TestApi } from '../testing/test-api';

type Answer = { status: number; body: { errors?: { field: string; message: string }[] } };

const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 4 };
const encoder = { inputShape: [16, 16, 1], filters: [4], latentDim: 8 };
const pretrain = (name: string) => ({
  kind: 'pretrain',
  name,
  dataset: shapes,
  model: { type: 'conv-autoencoder', ...encoder },
});
const finetune = (name: string) => ({
  kind: 'finetune',
  name,
  dataset: shapes,
  model: { type: 'classifier', ...encoder },
});
/** Two runs: one per learning rate. */
const sweep = (name: string) => ({
  name,
  base: finetune(name),
  strategy: 'grid',
  parameters: { 'training.learningRate': [0.01, 0.1] },
});
/** Two runs: the pretrain queued, the fine-tune held until it ends (held steps count as waiting). */
const pipeline = (name: string) => {
  const { kind: _p, ...ae } = pretrain(`${name} ae`);
  const { kind: _f, ...ft } = finetune(`${name} ft`);
  return { name, pretrain: ae, finetunes: [ft], evaluations: [] };
};

/**
 * The queued-runs quota is counted and the runs are recorded in one transaction, under a lock of
 * the project: submits of one project that arrive together are admitted one after another, so
 * they never pass the quota together. Without it, all of them counted the same waiting runs and
 * every one was let in.
 */
describe('the queued-runs quota under concurrent submits (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  const json = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  /** A fresh project held to `maxQueued` waiting runs (its own quota), and a key that submits to it. */
  async function projectWithQuota(maxQueued: number): Promise<{ project: string; auth: Record<string, string> }> {
    const project = `race-${randomUUID().slice(0, 8)}`;
    const limits = await api.fetch(`${api.baseUrl}/v1/projects/${project}/limits`, json('PATCH', { maxQueued }));
    expect(limits.status).toBe(200);
    const key = await api.fetch(
      `${api.baseUrl}/v1/keys`,
      json('POST', { name: `${project} team`, scopes: ['read', 'submit'], project }),
    );
    expect(key.status).toBe(201);
    return { project, auth: { authorization: `Bearer ${((await key.json()) as { token: string }).token}` } };
  }
  /** Sends every request at once and answers their statuses and bodies, in order. */
  function together(requests: { route: string; body: unknown; headers?: Record<string, string> }[]): Promise<Answer[]> {
    return Promise.all(
      requests.map(async ({ route, body, headers }) => {
        const res = await fetch(`${api.baseUrl}${route}`, json('POST', body, headers));
        return { status: res.status, body: (await res.json()) as Answer['body'] };
      }),
    );
  }
  const queuedRuns = (project: string) =>
    api.app.get<Database>(DATABASE).prisma.run.count({ where: { project, status: 'QUEUED' } });
  /** Every answer a 201 or the quota's 429 naming `project`; how many were let in. */
  function admitted(answers: Answer[], quota: number): number {
    for (const answer of answers.filter((a) => a.status !== 201))
      expect(answer).toEqual({
        status: 429,
        body: expect.objectContaining({
          errors: [{ field: 'project', message: `Queued-runs quota ${quota} reached` }],
        }),
      });
    return answers.filter((a) => a.status === 201).length;
  }

  it('lets exactly QUOTA in of 30 single runs submitted at once (half of them with Idempotency-Keys), in every round', async () => {
    for (let round = 0; round < 3; round++) {
      const { project, auth } = await projectWithQuota(5);
      const answers = await together(
        Array.from({ length: 30 }, (_, i) => ({
          route: '/v1/runs',
          body: pretrain(`r${round}.${i}`),
          headers: i % 2 ? { ...auth, 'idempotency-key': `k${i}` } : auth,
        })),
      );
      expect({ round, admitted: admitted(answers, 5), queued: await queuedRuns(project) }).toEqual({
        round,
        admitted: 5,
        queued: 5,
      });
    }
  });

  it('lets in sweeps of 2 runs submitted at once only while their runs fit: 3 of 12 under a quota of 6', async () => {
    for (let round = 0; round < 2; round++) {
      const { project, auth } = await projectWithQuota(6);
      const answers = await together(
        Array.from({ length: 12 }, (_, i) => ({ route: '/v1/sweeps', body: sweep(`s${round}.${i}`), headers: auth })),
      );
      expect({ round, admitted: admitted(answers, 6), queued: await queuedRuns(project) }).toEqual({
        round,
        admitted: 3,
        queued: 6,
      });
    }
  });

  it('counts a pipeline’s held steps while admitting pipelines submitted at once: 2 of 10 under a quota of 4', async () => {
    const { project, auth } = await projectWithQuota(4);
    const answers = await together(
      Array.from({ length: 10 }, (_, i) => ({ route: '/v1/pipelines', body: pipeline(`p${i}`), headers: auth })),
    );
    expect(admitted(answers, 4)).toBe(2);
    const runs = api.app.get<Database>(DATABASE).prisma.run;
    expect(await runs.count({ where: { project, status: 'QUEUED', held: true } })).toBe(2);
    expect(await queuedRuns(project)).toBe(4);
  });

  it('answers requests with one Idempotency-Key sent at once with the one run they made, though it fills the quota', async () => {
    const { project, auth } = await projectWithQuota(1);
    const answers = await together(
      Array.from({ length: 8 }, () => ({
        route: '/v1/runs',
        body: pretrain('retried'),
        headers: { ...auth, 'idempotency-key': 'once' },
      })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201));
    expect(new Set(answers.map((a) => (a.body as { id?: string }).id)).size).toBe(1);
    expect(await queuedRuns(project)).toBe(1);
  });

  it('still admits another project’s submits while one project is at its quota', async () => {
    const full = await projectWithQuota(1);
    const other = await projectWithQuota(1);
    const answers = await together([
      { route: '/v1/runs', body: pretrain('a'), headers: full.auth },
      { route: '/v1/runs', body: pretrain('b'), headers: full.auth },
      { route: '/v1/runs', body: pretrain('c'), headers: other.auth },
    ]);
    expect(admitted(answers.slice(0, 2), 1)).toBe(1);
    expect(answers[2]!.status).toBe(201);
    expect([await queuedRuns(full.project), await queuedRuns(other.project)]).toEqual([1, 1]);
  });
});
