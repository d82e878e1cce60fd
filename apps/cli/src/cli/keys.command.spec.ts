import { cli, json, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const KEY = {
  id: '7f8091a2-b3c4-4d5e-8f60-718293a4b5c6',
  name: 'ci reader',
  scopes: ['read'],
  project: 'research',
  createdAt: '2026-01-01T00:00:00.000Z',
  lastUsedAt: null,
  revokedAt: null,
};
const TOKEN = 'ty_' + 'x'.repeat(40);

describe('trainyard keys', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  let sent: unknown;
  afterEach(() => api?.close());

  const routes: Record<string, Route> = {
    'POST /v1/keys': (req, res, url) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        sent = JSON.parse(body);
        // The key as made: for the project sent, or for every project (null) without one.
        const project = (sent as { project?: string }).project ?? null;
        json({ key: { ...KEY, project }, token: TOKEN }, 201)(req, res, url);
      });
    },
    'GET /v1/keys': json({
      items: [KEY, { ...KEY, id: 'k2', name: 'old', project: null, revokedAt: '2026-02-01T00:00:00.000Z' }],
    }),
    [`DELETE /v1/keys/${KEY.id}`]: json({ ...KEY, revokedAt: '2026-03-01T00:00:00.000Z' }),
  };

  it('create: sends name, scopes and project; the token alone on stdout, what it is on stderr', async () => {
    api = await scriptedApi(routes);
    const result = await cli(
      ['keys', 'create', '--name', 'ci reader', '--scopes', 'read,read', '--project', 'research'],
      { TRAINYARD_URL: api.url, TRAINYARD_API_KEY: 'admin' },
    );
    expect(result).toMatchObject({ code: EXIT.OK, stdout: `${TOKEN}\n` });
    expect(result.stderr).toBe(
      `key ${KEY.id} "ci reader" (read; project research): its token, shown this once, went to stdout\n`,
    );
    expect(sent).toEqual({ name: 'ci reader', scopes: ['read'], project: 'research' });
    const asJson = await cli(['keys', 'create', '--name', 'n', '--scopes', 'read', '--json'], {
      TRAINYARD_URL: api.url,
    });
    expect(JSON.parse(asJson.stdout)).toEqual({ key: { ...KEY, project: null }, token: TOKEN });
    expect(sent).toEqual({ name: 'n', scopes: ['read'] });
  });

  it('create on a terminal: the token is on the next line, as stderr says', async () => {
    api = await scriptedApi(routes);
    const env = { TRAINYARD_URL: api.url };
    const shown = await cli(['keys', 'create', '--name', 'ci reader', '--scopes', 'read'], env, { stdoutIsTty: true });
    expect(shown).toMatchObject({ code: EXIT.OK, stdout: `${TOKEN}\n` });
    expect(shown.stderr).toBe(
      `key ${KEY.id} "ci reader" (read; every project): its token, shown this once, is on the next line\n`,
    );
  });

  it('create: tells a key for every project from one for a project named "all", in the words the table uses', async () => {
    api = await scriptedApi(routes);
    const env = { TRAINYARD_URL: api.url };
    const unconfined = await cli(['keys', 'create', '--name', 'ci reader', '--scopes', 'read'], env);
    expect(unconfined.stderr).toBe(
      `key ${KEY.id} "ci reader" (read; every project): its token, shown this once, went to stdout\n`,
    );
    const named = await cli(['keys', 'create', '--name', 'ci reader', '--scopes', 'read', '--project', 'all'], env);
    expect(named.stderr).toBe(
      `key ${KEY.id} "ci reader" (read; project all): its token, shown this once, went to stdout\n`,
    );
  });

  it('list and revoke', async () => {
    api = await scriptedApi(routes);
    const env = { TRAINYARD_URL: api.url };
    const listed = await cli(['keys'], env);
    expect(listed.code).toBe(EXIT.OK);
    const rows = listed.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^id +name +scopes +project +state +last used$/);
    expect(rows.slice(2).map((r) => r.trimEnd().split(/ {2,}/))).toEqual([
      [KEY.id, 'ci reader', 'read', 'research', 'active', '-'],
      ['k2', 'old', 'read', 'every project', 'revoked 2026-02-01', '-'],
    ]);
    expect((await cli(['keys', 'list', '--json'], env)).stdout).toContain('"items"');
    expect(await cli(['keys', 'revoke', KEY.id], env)).toMatchObject({
      code: EXIT.OK,
      stdout: `key ${KEY.id} "ci reader" revoked (refused from now on, within 5 s on every API replica)\n`,
    });
  });

  it('revoke of a key revoked before says so, and when, exit 0 (it is harmless to repeat)', async () => {
    api = await scriptedApi({
      ...routes,
      // As the API answers a repeat: the key with its first revokedAt, marked by a header.
      [`DELETE /v1/keys/${KEY.id}`]: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'idempotent-replayed': 'true' });
        res.end(JSON.stringify({ ...KEY, revokedAt: '2026-03-01T10:11:12.000Z' }));
      },
    });
    expect(await cli(['keys', 'revoke', KEY.id], { TRAINYARD_URL: api.url })).toMatchObject({
      code: EXIT.OK,
      stdout: `key ${KEY.id} "ci reader" was already revoked (2026-03-01 10:11:12 UTC): nothing changed\n`,
      stderr: '',
    });
  });

  it('revoke of the key the command itself uses warns that commands with it are refused from now on (exit 0)', async () => {
    const as = (keyId: string) => json({ keyId, name: 'me', scopes: ['admin'], project: null });
    api = await scriptedApi({ ...routes, 'GET /v1/whoami': as(KEY.id.toUpperCase()) });
    const own = await cli(['keys', 'revoke', KEY.id], { TRAINYARD_URL: api.url, TRAINYARD_API_KEY: 'ty_me' });
    expect(own).toMatchObject({
      code: EXIT.OK,
      stdout: `key ${KEY.id} "ci reader" revoked (refused from now on, within 5 s on every API replica)\n`,
      stderr:
        'trainyard: warning: it is the key this command used (TRAINYARD_API_KEY): every command with it is refused from now on; log in with another key (`trainyard login`)\n',
    });
    await api.close();
    api = await scriptedApi({ ...routes, 'GET /v1/whoami': as('00000000-0000-4000-8000-000000000000') });
    expect((await cli(['keys', 'revoke', KEY.id], { TRAINYARD_URL: api.url })).stderr).toBe('');
  });

  it.each([
    [['keys', 'create', '--scopes', 'read'], '--name'],
    [['keys', 'create', '--name', 'n'], '--scopes'],
    [['keys', 'create', '--name', 'n', '--scopes', 'read,write'], 'not a scope: "write"'],
    [['keys', 'create', '--name', 'x'.repeat(101), '--scopes', 'read'], '--name: Expected 1 to 100 printable ASCII'],
    [['keys', 'create', '--name', 'tab\there', '--scopes', 'read'], '--name: Expected 1 to 100 printable ASCII'],
    [
      ['keys', 'create', '--name', 'n', '--scopes', 'read', '--project', 'Research'],
      '--project: Expected 1 to 63 lowercase',
    ],
    [
      ['keys', 'create', '--name', 'n', '--scopes', 'read', '--project', '__proto__'],
      '--project: Expected 1 to 63 lowercase',
    ],
    [['keys', 'list', '--name', 'n'], '--name applies to keys create only'],
    [['keys', 'revoke'], 'Missing key id'],
    [['keys', 'revoke', 'a', 'b'], '"b" left over'],
    [['keys', 'rotate'], 'keys takes list, create or revoke, got "rotate"'],
  ])('%j is a usage error (%s), nothing sent', async (argv, message) => {
    api = await scriptedApi(routes);
    const result = await cli(argv, { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(message);
    expect(api.seen).toEqual([]);
  });
});
