import { cli, json, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '6e7f8091-a2b3-4c4d-8e5f-60718293a4b5';

describe('trainyard tag', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  /** PATCH applying addTags and removeTags to the run's `tags` as the API does, each body kept. */
  const routes = (tags: string[], sent: unknown[] = []): Record<string, Route> => ({
    [`PATCH /v1/runs/${RUN}`]: (req, res, url) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const change = JSON.parse(body) as { addTags?: string[]; removeTags?: string[] };
        sent.push(change);
        tags = [...tags.filter((t) => !change.removeTags?.includes(t)), ...(change.addTags ?? [])];
        tags = [...new Set(tags)];
        if (tags.length > 32) {
          const message = `The run would have ${tags.length} tags; a run has 32 at most`;
          const problem = { type: 'about:blank', title: 'Bad Request', status: 400, detail: message, message };
          return json({ ...problem, errors: [{ field: 'addTags', message }] }, 400)(req, res, url);
        }
        json({ id: RUN, tags })(req, res, url);
      });
    },
  });

  it('refuses a tag the API would refuse, naming it as typed (not `tags.2`), exit 1, before anything is sent', async () => {
    api = await scriptedApi(routes(['a']));
    for (const argv of [
      ['tag', RUN, 'ok', 'Bad Tag'],
      ['tag', RUN, 'Bad Tag', '--remove'],
    ]) {
      const result = await cli([...argv, '--json'], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toBe(
        'trainyard: "Bad Tag" is not a valid tag: Expected a lowercase tag of a-z, 0-9 and . _ : - (up to 63 characters)\n',
      );
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { title: 'Usage error', errors: [{ field: 'tag' }] } });
    }
    expect(api.seen).toEqual([]);
  });

  it("says the API's refusal of a tag past the most a run may have, exit 2", async () => {
    api = await scriptedApi(routes(Array.from({ length: 32 }, (_, i) => `t${i}`)));
    const result = await cli(['tag', RUN, 'one-more'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.API);
    expect(result.stderr).toContain('The run would have 33 tags; a run has 32 at most');
  });

  it('adds and removes tags through addTags and removeTags, which the API applies under the run lock', async () => {
    const sent: unknown[] = [];
    api = await scriptedApi(routes(['a'], sent));
    expect(await cli(['tag', RUN, 'b', 'a', 'b'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `run ${RUN} tags: a, b\n`,
    });
    expect(await cli(['tag', RUN, 'a', 'b', '--remove'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `run ${RUN} tags: (none)\n`,
    });
    // No read of the run's tags: a list read and written back lost tags given at the same time.
    expect(api.seen).toEqual([`PATCH /v1/runs/${RUN}`, `PATCH /v1/runs/${RUN}`]);
    expect(sent).toEqual([{ addTags: ['b', 'a'] }, { removeTags: ['a', 'b'] }]);
  });
});

describe('trainyard rm', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const SWEEP = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
  const deletion = (dryRun: boolean, sweep: unknown, pipeline: unknown) => ({
    runId: RUN,
    dryRun,
    metricPoints: 30,
    attempts: 1,
    checkpoints: { count: 2, bytes: 4096 },
    objects: { prefix: `s3://bucket/runs/${RUN}/`, count: 5, bytes: 8192, sample: [] },
    sweep,
    pipeline,
  });

  it('says what would go, and the sweep whose leaderboard the run would leave (its name made terminal-safe)', async () => {
    api = await scriptedApi({
      [`DELETE /v1/runs/${RUN}`]: (req, res, url) =>
        json(deletion(url.searchParams.get('dryRun') === 'true', { id: SWEEP, name: 'lr\u001b[2Jsearch' }, null))(
          req,
          res,
          url,
        ),
    });
    expect(await cli(['rm', RUN, '--dry-run'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout:
        `would delete run ${RUN}: 1 attempt, 30 metric points, 2 checkpoints, 5 objects (8 KiB) under s3://bucket/runs/${RUN}/\n` +
        `it would leave sweep ${SWEEP} ("lr\\u001b[2Jsearch") and its leaderboard\n`,
    });
    expect((await cli(['rm', RUN], { TRAINYARD_URL: api.url })).stdout).toMatch(
      new RegExp(`^deleted run .*\nit left sweep ${SWEEP} `),
    );
  });

  it('names the ended pipeline a run was a step of, and nothing more for a run of neither', async () => {
    api = await scriptedApi({ [`DELETE /v1/runs/${RUN}`]: json(deletion(true, null, { id: SWEEP, name: 'nightly' })) });
    expect((await cli(['rm', RUN, '--dry-run'], { TRAINYARD_URL: api.url })).stdout).toContain(
      `\nit would leave pipeline ${SWEEP} ("nightly") with a step without its run\n`,
    );
    await api.close();
    api = await scriptedApi({ [`DELETE /v1/runs/${RUN}`]: json(deletion(true, null, null)) });
    expect((await cli(['rm', RUN, '--dry-run'], { TRAINYARD_URL: api.url })).stdout.split('\n')).toHaveLength(2);
  });
});
