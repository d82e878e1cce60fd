import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, json, scriptedApi } from '../testing/scripted-api';
import { writeConfig } from './cli-config';
import { EXIT } from './exit-codes';

describe('trainyard login', () => {
  let home: string;
  let env: Record<string, string>;
  let api: Awaited<ReturnType<typeof scriptedApi>>;
  /** The Authorization header of each request the API got. */
  let sent: (string | undefined)[];

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'trainyard-login-'));
    env = { XDG_CONFIG_HOME: home };
    sent = [];
    api = await scriptedApi({
      'GET /v1/whoami': (req, res, url) => {
        sent.push(req.headers.authorization);
        json({ name: 'ops', scopes: ['admin'] })(req, res, url);
      },
    });
  });
  afterEach(async () => {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  });
  const stored = () => JSON.parse(readFileSync(join(home, 'trainyard', 'config.json'), 'utf8')) as unknown;

  it('refuses (exit 1) to send the key stored for one URL to another, and keeps the stored login', async () => {
    writeConfig({ url: 'http://old.example:3000', apiKey: 'old-secret' }, env);
    const result = await cli(['login', '--url', api.url], env);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`The stored key is for http://old.example:3000, not ${api.url}`);
    expect(result.stderr).toContain('--api-key, --key-file or TRAINYARD_API_KEY');
    expect(api.seen).toEqual([]);
    expect(stored()).toEqual({ url: 'http://old.example:3000', apiKey: 'old-secret' });
    // TRAINYARD_URL names another API just as --url does.
    expect((await cli(['login'], { ...env, TRAINYARD_URL: api.url })).code).toBe(EXIT.USAGE);
    expect(api.seen).toEqual([]);
  });

  it('reuses the stored key for the same URL, and takes a new key for a new URL', async () => {
    writeConfig({ url: `${api.url}`, apiKey: 'same-secret' }, env);
    expect((await cli(['login', '--url', `${api.url}/`], env)).code).toBe(EXIT.OK);
    writeConfig({ url: 'http://old.example:3000', apiKey: 'old-secret' }, env);
    expect((await cli(['login', '--url', api.url, '--api-key', 'new-secret'], env)).code).toBe(EXIT.OK);
    expect(sent).toEqual(['Bearer same-secret', 'Bearer new-secret']);
    expect(stored()).toEqual({ url: api.url, apiKey: 'new-secret' });
  });

  it('says which key file it cannot read, exit 1, nothing sent', async () => {
    const missing = join(home, 'no-such-key');
    const result = await cli(['login', '--url', api.url, '--key-file', missing], env);
    expect(result).toMatchObject({
      code: EXIT.USAGE,
      stderr: `trainyard: cannot read ${missing}: no such file or directory\n`,
    });
    expect(api.seen).toEqual([]);
  });
});
