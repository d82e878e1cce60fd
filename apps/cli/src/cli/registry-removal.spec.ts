import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';
import { modelVersionArg } from './registry-removal';

const DATASET = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const RUN = '6e7f8091-a2b3-4c4d-8e5f-60718293a4b5';
const CHECKPOINT = '11111111-2222-4333-8444-555555555555';

describe('trainyard datasets rm', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const deletion = (objects: unknown, location: unknown) => ({
    datasetId: DATASET,
    name: 'pets',
    location,
    objects,
    finishedRuns: 2,
  });

  it("deletes an upload, saying how many images went; a registered folder's files are said to stay", async () => {
    const prefix = `datasets/uploads/${DATASET}/`;
    const uploaded = deletion({ prefix: `s3://bucket/${prefix}`, count: 3, bytes: 4096 }, { kind: 's3', prefix });
    api = await scriptedApi({ [`DELETE /v1/datasets/${DATASET}`]: json(uploaded) });
    expect(await cli(['datasets', 'rm', DATASET], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `deleted dataset pets (${DATASET}): 3 stored images (4 KiB) removed from s3://bucket/${prefix}; 2 finished runs keep their history\n`,
    });
    const asJson = await cli(['datasets', 'rm', DATASET, '--json'], { TRAINYARD_URL: api.url });
    expect(JSON.parse(asJson.stdout)).toEqual(uploaded);
    await api.close();

    api = await scriptedApi({
      [`DELETE /v1/datasets/${DATASET}`]: json(deletion(null, { kind: 'local', path: '/data/pets' })),
    });
    expect((await cli(['datasets', 'rm', DATASET], { TRAINYARD_URL: api.url })).stdout).toBe(
      `deleted dataset pets (${DATASET}): its folder (/data/pets) left as it is; 2 finished runs keep their history\n`,
    );
  });

  it('says one image and one finished run in the singular', async () => {
    const prefix = `datasets/uploads/${DATASET}/`;
    const one = {
      ...deletion({ prefix: `s3://bucket/${prefix}`, count: 1, bytes: 2048 }, { kind: 's3', prefix }),
      finishedRuns: 1,
    };
    api = await scriptedApi({ [`DELETE /v1/datasets/${DATASET}`]: json(one) });
    expect((await cli(['datasets', 'rm', DATASET], { TRAINYARD_URL: api.url })).stdout).toBe(
      `deleted dataset pets (${DATASET}): 1 stored image (2 KiB) removed from s3://bucket/${prefix}; 1 finished run keeps its history\n`,
    );
  });

  it('exits 2 with the runs in the way named when the API refuses, 1 for a missing or extra argument', async () => {
    const message = `Dataset ${DATASET} is used by 1 run not finished (${RUN}): cancel it or let it end first`;
    const problem = { type: 'about:blank', title: 'Conflict', status: 409, detail: message, message };
    api = await scriptedApi({ [`DELETE /v1/datasets/${DATASET}`]: json(problem, 409) });
    const refused = await cli(['datasets', 'rm', DATASET], { TRAINYARD_URL: api.url });
    expect(refused.code).toBe(EXIT.API);
    expect(refused.stderr).toContain(message);
    expect((await cli(['datasets', 'rm'], { TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect((await cli(['datasets', 'rm', DATASET, 'extra'], { TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect(api.seen).toEqual([`DELETE /v1/datasets/${DATASET}`]);
  });
});

describe('trainyard models rm', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const deletion = (name: string, version: number, remainingVersions: number) => ({
    name,
    project: 'default',
    version,
    runId: RUN,
    checkpointId: CHECKPOINT,
    remainingVersions,
  });

  it('takes the version as models prints it (v3) or bare (3), and says when the name went with it', async () => {
    api = await scriptedApi({
      'DELETE /v1/models/digits/versions/3': json(deletion('digits', 3, 1)),
      'DELETE /v1/models/a%2Fb/versions/1': json(deletion('a/b', 1, 0)),
    });
    expect(await cli(['models', 'rm', 'digits', 'v3'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `deleted digits v3 (run ${RUN}, checkpoint ${CHECKPOINT}, kept with the run); 1 version left\n`,
    });
    expect(await cli(['models', 'rm', 'a/b', '1'], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `deleted a/b v1 (run ${RUN}, checkpoint ${CHECKPOINT}, kept with the run); it was its last version: the model is gone\n`,
    });
    expect(api.seen).toEqual(['DELETE /v1/models/digits/versions/3', 'DELETE /v1/models/a%2Fb/versions/1']);
  });

  it('refuses a version that is no number the API takes, exit 1, before anything is sent', async () => {
    api = await scriptedApi({});
    for (const version of ['0', 'x', 'v', '1.5', '1e3', 'v01x', '99999999', '__proto__']) {
      const result = await cli(['models', 'rm', 'digits', version, '--json'], { TRAINYARD_URL: api.url });
      expect({ version, code: result.code }).toEqual({ version, code: EXIT.USAGE });
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { errors: [{ field: 'version' }] } });
    }
    // Read as an option, and refused as an unknown one.
    expect((await cli(['models', 'rm', 'digits', '-1'], { TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect((await cli(['models', 'rm', 'digits', '--', '-1'], { TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect((await cli(['models', 'rm', 'digits'], { TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect((await cli(['models', 'rm', 'digits', '1', 'more'], { TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect(api.seen).toEqual([]);
  });

  it("names the model's project with --project, for its versions and rm; refuses it where it means nothing, and a bad name", async () => {
    const versions = { name: 'digits', versions: [] };
    api = await scriptedApi({
      'DELETE /v1/models/digits/versions/2': json({ ...deletion('digits', 2, 0), project: 'vision' }),
      'GET /v1/models/digits/versions': json(versions),
    });
    const env = { TRAINYARD_URL: api.url };
    expect((await cli(['models', 'rm', 'digits', '2', '--project', 'vision'], env)).code).toBe(EXIT.OK);
    expect((await cli(['models', 'digits', '--project', 'vision', '--json'], env)).stdout).toBe(
      `${JSON.stringify(versions, null, 2)}\n`,
    );
    expect((await cli(['models', 'digits'], env)).code).toBe(EXIT.OK);
    for (const argv of [
      ['models', '--project', 'vision'],
      ['models', 'register', 'm', RUN, '--project', 'vision'],
      ['models', 'digits', '--project', '__proto__ x'],
      ['models', 'rm', 'digits', '2', '--project', 'a\u0000b'],
      ['models', 'digits', '--project', ''],
    ]) {
      const result = await cli([...argv, '--json'], env);
      expect({ argv, code: result.code }).toEqual({ argv, code: EXIT.USAGE });
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { errors: [{ field: '--project' }] } });
    }
    expect(api.seen).toEqual([
      'DELETE /v1/models/digits/versions/2?project=vision',
      'GET /v1/models/digits/versions?project=vision',
      'GET /v1/models/digits/versions',
    ]);
  });

  it('reads v-prefixed and bare numbers alike', () => {
    expect([modelVersionArg('1'), modelVersionArg('v12'), modelVersionArg('007')]).toEqual([1, 12, 7]);
  });
});
