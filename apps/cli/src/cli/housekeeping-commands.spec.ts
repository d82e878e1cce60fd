import { cli, json, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '6e7f8091-a2b3-4c4d-8e5f-60718293a4b5';

describe('trainyard tag', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  /** The run with `tags`, and PATCH answering with what it was sent. */
  const routes = (tags: string[]): Record<string, Route> => ({
    [`GET /v1/runs/${RUN}`]: json({ id: RUN, tags }),
    [`PATCH /v1/runs/${RUN}`]: (req, res, url) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => json({ id: RUN, ...(JSON.parse(body) as object) })(req, res, url));
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

  it('refuses a tag past the most a run may have, sending no change', async () => {
    api = await scriptedApi(routes(Array.from({ length: 32 }, (_, i) => `t${i}`)));
    const result = await cli(['tag', RUN, 'one-more'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`run ${RUN} has 32 tags; with 1 more it would have 33, and a run has 32 at most`);
    expect(api.seen).toEqual([`GET /v1/runs/${RUN}`]);
  });

  it('adds and removes valid tags', async () => {
    api = await scriptedApi(routes(['a']));
    expect(await cli(['tag', RUN, 'b', 'a'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `run ${RUN} tags: a, b\n`,
    });
    expect(await cli(['tag', RUN, 'a', '--remove'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `run ${RUN} tags: (none)\n`,
    });
  });
});
