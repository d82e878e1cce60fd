import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '6e7f8091-a2b3-4c4d-8e5f-60718293a4b5';
const GONE = '7e7f8091-a2b3-4c4d-8e5f-60718293a4b5';
const [CK1, CK2, CK3] = [1, 2, 3].map((n) => `11111111-2222-4333-8444-55555555555${n}`) as [string, string, string];
const version = (name: string, n: number, runId: string, checkpointId: string) => ({
  id: `22222222-2222-4333-8444-55555555555${n}`,
  name,
  project: 'default',
  version: n,
  runId,
  checkpointId,
  createdAt: `2026-01-0${n}T00:00:00.000Z`,
});
const checkpoint = (id: string, sequence: number) => ({ id, sequence, status: 'COMPLETE' });

describe('trainyard models show', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());
  const env = () => ({ TRAINYARD_URL: api!.url });

  /** A registry where `name` has three versions: two of RUN's checkpoints, one of a run the key cannot read. */
  const registry = (name: string) => ({
    [`GET /v1/models/${name}/versions`]: json({
      name,
      versions: [version(name, 1, RUN, CK1), version(name, 2, RUN, CK2), version(name, 3, GONE, CK3)],
    }),
    [`GET /v1/runs/${RUN}/checkpoints`]: json({ runId: RUN, checkpoints: [checkpoint(CK1, 4), checkpoint(CK2, 7)] }),
  });

  it("lists the versions: the run, the checkpoint's sequence and id, when registered (one lookup per run)", async () => {
    api = await scriptedApi(registry('digits'));
    const result = await cli(['models', 'show', 'digits'], env());
    expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('digits (project default): 3 versions');
    expect(lines[1]!.trimEnd().split(/ {2,}/)).toEqual([
      'version',
      'run',
      'checkpoint',
      'checkpoint id',
      'created (UTC)',
    ]);
    // When registered as `trainyard ls` prints its runs' creation, not the API's ISO string.
    expect(lines.slice(3).map((l) => l.trimEnd().split(/ {2,}/))).toEqual([
      ['v1', RUN, '#4', CK1, '2026-01-01 00:00:00'],
      ['v2', RUN, '#7', CK2, '2026-01-02 00:00:00'],
      ['v3', GONE, '-', CK3, '2026-01-03 00:00:00'],
    ]);
    expect(api.seen).toEqual([
      'GET /v1/models/digits/versions',
      `GET /v1/runs/${RUN}/checkpoints`,
      `GET /v1/runs/${GONE}/checkpoints`,
    ]);
  });

  it('--json prints the versions with their checkpoint sequence; --project is sent', async () => {
    api = await scriptedApi(registry('digits'));
    const result = await cli(['models', 'show', 'digits', '--project', 'vision', '--json'], env());
    expect(result.code).toBe(EXIT.OK);
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'digits',
      versions: [
        { ...version('digits', 1, RUN, CK1), checkpointSequence: 4 },
        { ...version('digits', 2, RUN, CK2), checkpointSequence: 7 },
        { ...version('digits', 3, GONE, CK3), checkpointSequence: null },
      ],
    });
    expect(api.seen[0]).toBe('GET /v1/models/digits/versions?project=vision');
  });

  it('an unknown model is the API error (exit 2); a missing name a usage error', async () => {
    api = await scriptedApi({});
    expect((await cli(['models', 'show', 'nope'], env())).code).toBe(EXIT.API);
    const missing = await cli(['models', 'show'], env());
    expect(missing).toMatchObject({ code: EXIT.USAGE, stderr: 'trainyard: Missing model name\n' });
    expect((await cli(['models', 'show', 'a', 'b'], env())).code).toBe(EXIT.USAGE);
  });

  describe('a model named as a subcommand (show, register, rm): the subcommand wins, `show` reaches the model', () => {
    it.each([['show'], ['register'], ['rm']])('models show %s shows the model named so', async (name) => {
      api = await scriptedApi(registry(name));
      const result = await cli(['models', 'show', name, '--json'], env());
      expect(result.code).toBe(EXIT.OK);
      expect(JSON.parse(result.stdout)).toMatchObject({ name, versions: [{ name }, { name }, { name }] });
    });

    it.each([
      [['models', 'register'], 'trainyard: Missing model name\n'],
      [['models', 'register', 'register'], 'trainyard: Missing run id\n'],
      [['models', 'rm'], 'trainyard: Missing model name\n'],
      [['models', 'rm', 'rm'], 'trainyard: Missing version\n'],
      [['models', 'show'], 'trainyard: Missing model name\n'],
    ])('%j is that subcommand, short of its arguments (exit 1, nothing sent)', async (words, stderr) => {
      api = await scriptedApi(registry(words[1]!));
      expect(await cli(words, env())).toMatchObject({ code: EXIT.USAGE, stderr });
      expect(api.seen).toEqual([]);
    });

    it('models <name> stays short for models show <name> for any other name', async () => {
      api = await scriptedApi(registry('digits'));
      const short = await cli(['models', 'digits', '--json'], env());
      const long = await cli(['models', 'show', 'digits', '--json'], env());
      expect(short).toEqual(long);
    });
  });
});
