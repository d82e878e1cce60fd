import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

/** The catalog lists print their dates as `trainyard ls` does (UTC, to the second), not the API's ISO strings. */
describe('dates in the catalog lists', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const rows = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.trimEnd().split(/ {2,}/));

  it('pipelines: created (UTC) as YYYY-MM-DD HH:MM:SS', async () => {
    api = await scriptedApi({
      'GET /v1/pipelines': json({
        items: [
          {
            id: '00000000-0000-4000-8000-000000000001',
            name: 'p',
            status: 'RUNNING',
            steps: 2,
            counts: { QUEUED: 1 },
            createdAt: '2026-03-04T05:06:07.890Z',
          },
        ],
        nextCursor: null,
      }),
    });
    const result = await cli(['pipelines'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.OK);
    const [header, , row] = rows(result.stdout);
    expect(header!.at(-1)).toBe('created (UTC)');
    expect(row!.at(-1)).toBe('2026-03-04 05:06:07');
  });

  it('models: registered (UTC) as YYYY-MM-DD HH:MM:SS', async () => {
    api = await scriptedApi({
      'GET /v1/models': json({
        items: [
          {
            name: 'digits',
            project: 'default',
            latestVersion: 1,
            versionCount: 1,
            versions: [{ runId: '00000000-0000-4000-8000-000000000002' }],
            updatedAt: '2026-03-04T05:06:07.890Z',
          },
        ],
        nextCursor: null,
      }),
    });
    const result = await cli(['models'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.OK);
    const [header, , row] = rows(result.stdout);
    expect(header!.at(-1)).toBe('registered (UTC)');
    expect(row!.at(-1)).toBe('2026-03-04 05:06:07');
  });
});
