/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies of many shapes; the assertions check them */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';

/**
 * A local root may be one project's own (TRAINYARD_LOCAL_ROOTS `team-b=/data/team-b`): another
 * project's keys can neither register a folder under it (nor the root above, listing its folders)
 * nor import a model file from it, and get the answer a path outside every root gets. Shared roots
 * stay open to every project.
 */
describe("a project's own local root (PostgreSQL, Redis, HTTP)", () => {
  let api: TestApi;
  let a: string;
  let b: string;
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-project-roots-')));
  const shared = join(base, 'shared');
  const teamB = join(base, 'team-b');

  /** An image folder of two classes at `folder`. */
  const imageFolder = (folder: string) => {
    for (const file of ['cat/1.png', 'dog/1.png']) {
      mkdirSync(join(folder, file, '..'), { recursive: true });
      writeFileSync(join(folder, file), 'x');
    }
    return folder;
  };

  beforeAll(async () => {
    imageFolder(join(shared, 'pets'));
    imageFolder(join(teamB, 'secret-pets'));
    writeFileSync(join(teamB, 'model.json'), '{}');
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: `${shared}:team-b=${teamB}` } });
    a = await projectKey(api, 'team-a');
    b = await projectKey(api, 'team-b');
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  const register = (key: string, path: string) =>
    requestAs(api, key, 'POST', '/v1/datasets', { name: `d-${Math.random()}`, location: { kind: 'local', path } });

  it("refuses another project's root as a path outside every root, and lets its own project and shared roots in", async () => {
    const outside = await register(a, join(base, 'no-such-folder'));
    expect(outside.status).toBe(422);
    for (const path of [teamB, join(teamB, 'secret-pets'), join(teamB, 'secret-pets', 'cat')]) {
      const refused = await register(a, path);
      expect({ path, status: refused.status, body: refused.body.errors }).toEqual({
        path,
        status: 422,
        body: outside.body.errors,
      });
      expect(JSON.stringify(refused.body)).not.toMatch(/secret|\bcat\b|\bdog\b/);
    }
    expect((await register(b, join(teamB, 'secret-pets'))).status).toBe(201);
    expect((await register(a, join(shared, 'pets'))).status).toBe(201);
  });

  it("refuses a model file under another project's root at submit, and imports it for its own", async () => {
    const submit = (key: string) =>
      requestAs(api, key, 'POST', '/v1/runs', {
        kind: 'finetune',
        name: 'imported',
        dataset: { name: 'synthetic-shapes' },
        model: { type: 'classifier', importedModel: { uri: pathToFileURL(join(teamB, 'model.json')).href } },
      });
    const theirs = await submit(a);
    expect(theirs.status).toBe(422);
    expect(theirs.body.errors.map((e: any) => e.field)).toEqual(['model.importedModel.uri']);
    expect((await submit(b)).status).toBe(201);
  });
});
