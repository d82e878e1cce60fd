import { InvalidCursorError, RunReferenceRefusedError, RunStateError, SubmitsBusyError } from '@trainyard/db';
import { ObjectNotFoundError, StoreFullError } from '@trainyard/storage';
import { startTestApi, type TestApi } from '../testing/test-api';
import { ProblemDetailsFilter } from './problem-details.filter';

/** Every error answer is RFC 9457 problem details, with the fields this API always sent and the request id. */
describe('problem details (HTTP, PostgreSQL, Redis)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const expectProblem = async (res: Response, status: number) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'about:blank',
      status,
      statusCode: status,
      title: expect.any(String),
      detail: body['message'],
    });
    expect(body['error']).toBe(body['title']);
    expect(body['requestId']).toBe(res.headers.get('x-request-id'));
    return body;
  };

  it('answers an unknown route, an unknown run and a forged cursor (a domain error) as problems', async () => {
    await expectProblem(await api.fetch(`${api.baseUrl}/v1/no-such-route`), 404);
    const unknown = await expectProblem(
      await api.fetch(`${api.baseUrl}/v1/runs/00000000-0000-4000-8000-000000000000`),
      404,
    );
    expect(unknown['detail']).toBe('No run with id 00000000-0000-4000-8000-000000000000');
    const cursor = await expectProblem(await api.fetch(`${api.baseUrl}/v1/runs?cursor=${'A'.repeat(40)}`), 400);
    expect(cursor['errors']).toEqual([
      { field: 'cursor', message: expect.stringContaining('Invalid run list cursor') },
    ]);
  });

  it('answers validation errors, a missing key and refusals made before routing as problems, keeping the request id a client sent', async () => {
    const invalid = await expectProblem(
      await api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'client-req-7' },
        body: '{"kind":"pretrain"}',
      }),
      400,
    );
    expect(invalid['requestId']).toBe('client-req-7');
    expect(invalid['errors']).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: expect.any(String), message: expect.any(String) })]),
    );
    await expectProblem(await fetch(`${api.baseUrl}/v1/runs`), 401);
    const form = await expectProblem(
      await api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      }),
      415,
    );
    expect(form['errors']).toEqual([{ field: 'Content-Type', message: expect.any(String) }]);
    await expectProblem(
      await api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"kind":',
      }),
      400,
    );
  });

  it('maps each domain error once, and tells nothing of an unexpected one', () => {
    const filter = new ProblemDetailsFilter();
    expect(filter.toProblem(new RunStateError('r1', 'SUCCEEDED', 'cancel'), 'id-1')).toMatchObject({
      status: 409,
      detail: 'Run r1 is SUCCEEDED: cannot cancel',
      requestId: 'id-1',
    });
    expect(filter.toProblem(new ObjectNotFoundError('runs/x/model.json', 's3://bucket'), undefined)).toMatchObject({
      status: 404,
      title: 'Not Found',
    });
    expect(filter.toProblem(new InvalidCursorError('zz', 'not base64'), undefined)).toMatchObject({
      status: 400,
      errors: [{ field: 'cursor' }],
    });
    expect(
      filter.toProblem(new RunReferenceRefusedError('Base run cannot be used', 'base.runId', 'it FAILED'), undefined),
    ).toMatchObject({
      status: 422,
      detail: 'Base run cannot be used',
      errors: [{ field: 'base.runId', message: 'it FAILED' }],
    });
    const internal = filter.toProblem(new Error('connect ECONNREFUSED /var/run/secret.sock'), 'id-2');
    expect(internal).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal server error',
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      requestId: 'id-2',
    });
    // The database client's own errors (Prisma's carry clientVersion): lost or silent, and too slow.
    const fromPrisma = (message: string, fields: Record<string, unknown> = {}) =>
      Object.assign(new Error(message), { clientVersion: '7.10.1', ...fields });
    expect(filter.toProblem(fromPrisma('timeout exceeded when trying to connect'), undefined)).toMatchObject({
      status: 503,
      detail: 'The database is unreachable or not answering; try again shortly',
    });
    expect(
      filter.toProblem(
        fromPrisma('Invalid call', { cause: Object.assign(new Error('Query read timeout'), { code: undefined }) }),
        undefined,
      ),
    ).toMatchObject({ status: 503 });
    expect(
      filter.toProblem(
        fromPrisma('Raw query failed. Code: `57014`. Message: `canceling statement due to statement timeout`', {
          code: 'P2010',
        }),
        undefined,
      ),
    ).toMatchObject({
      status: 503,
      detail: 'The database did not finish the query within its deadline; try again shortly',
    });
    // A burst of one project's submits queued past its wait in this replica.
    expect(filter.toProblem(new SubmitsBusyError('vision'), undefined)).toMatchObject({
      status: 503,
      detail: 'Too many submits of project vision are waiting for their turn; try again shortly',
    });
    // A reference deleted meanwhile (a run deleted under its lock while a model version waited on it).
    expect(filter.toProblem(fromPrisma('Foreign key constraint violated', { code: 'P2003' }), undefined)).toMatchObject(
      { status: 409, detail: 'A run or checkpoint this request refers to was deleted meanwhile' },
    );
    // A local object store's disk full: a 503 that says so, not its path.
    const full = new StoreFullError('datasets/d/a.png', '/srv/objects/datasets/d/a.png', 'ENOSPC', new Error('ENOSPC'));
    expect(filter.toProblem(full, undefined)).toMatchObject({
      status: 503,
      detail: 'The object store has no space left on its disk; try again once an operator has freed space',
    });
    // Anything else from the client is not an outage.
    expect(filter.toProblem(fromPrisma('Unique constraint failed', { code: 'P2002' }), undefined).status).toBe(500);
  });
});
