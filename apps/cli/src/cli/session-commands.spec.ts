import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, json, scriptedApi } from '../testing/scripted-api';
import { configPath, resolveConfig, writeConfig } from './cli-config';
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

  it('refuses --api-key and --key-file together (exit 1, nothing sent)', async () => {
    const keyFile = join(home, 'key');
    writeFileSync(keyFile, 'file-secret\n');
    const result = await cli(['login', '--url', api.url, '--api-key', 'k', '--key-file', keyFile], env);
    expect(result).toMatchObject({
      code: EXIT.USAGE,
      stderr: 'trainyard: Give the key one way: --api-key or --key-file, not both\n',
    });
    expect(api.seen).toEqual([]);
  });

  it('takes a key with spaces around it as the key, and an empty TRAINYARD_API_KEY as none', async () => {
    expect((await cli(['login', '--url', api.url, '--api-key', ' spaced-secret\n'], env)).code).toBe(EXIT.OK);
    expect(stored()).toEqual({ url: api.url, apiKey: 'spaced-secret' });
    // Logging in again with an empty variable keeps (and sends) the stored key.
    expect((await cli(['login'], { ...env, TRAINYARD_URL: api.url, TRAINYARD_API_KEY: '' })).code).toBe(EXIT.OK);
    expect(sent).toEqual(['Bearer spaced-secret', 'Bearer spaced-secret']);
  });

  it('replaces a damaged config.json, saying so', async () => {
    mkdirSync(join(home, 'trainyard'), { recursive: true });
    writeFileSync(configPath(env), '{"url": "http://x",');
    const result = await cli(['login', '--url', api.url, '--api-key', 'new-secret'], env);
    expect(result.code).toBe(EXIT.OK);
    expect(result.stderr).toBe(`trainyard: warning: ${configPath(env)} is damaged: this login replaces it\n`);
    expect(stored()).toEqual({ url: api.url, apiKey: 'new-secret' });
  });
});

describe('trainyard config', () => {
  let home: string;
  let env: Record<string, string>;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'trainyard-config-'));
    env = { XDG_CONFIG_HOME: home };
    writeConfig({ url: 'http://stored:3000', apiKey: 'stored-secret' }, env);
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));
  const config = async (argv: string[], extra: Record<string, string> = {}) => {
    const result = await cli(['config', '--json', ...argv], { ...env, ...extra });
    expect(result.code).toBe(EXIT.OK);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  it('shows the stored login, and where each part comes from', async () => {
    expect(await config([])).toEqual({
      path: configPath(env),
      url: 'http://stored:3000',
      urlFrom: `the URL stored in ${configPath(env)}`,
      apiKey: '****',
      apiKeyFrom: `stored in ${configPath(env)}`,
    });
  });

  it('shows no key for another URL: the stored key is never sent there', async () => {
    expect(await config([], { TRAINYARD_URL: 'http://elsewhere' })).toMatchObject({
      url: 'http://elsewhere',
      urlFrom: 'TRAINYARD_URL',
      apiKey: null,
      note: 'the stored key is for http://stored:3000, not this URL',
    });
    const plain = await cli(['config'], { ...env, TRAINYARD_URL: 'http://elsewhere' });
    expect(plain.stdout).toContain('key    (none: the stored key is for http://stored:3000, not this URL)\n');
  });

  it('honours --url and --api-key, as any command would', async () => {
    expect(await config(['--url', 'http://flag', '--api-key', 'flag-secret'])).toMatchObject({
      url: 'http://flag',
      urlFrom: '--url',
      apiKey: '****',
      apiKeyFrom: '--api-key',
    });
  });

  it('takes an empty TRAINYARD_URL or TRAINYARD_API_KEY for unset', async () => {
    expect(await config([], { TRAINYARD_URL: '', TRAINYARD_API_KEY: '' })).toMatchObject({
      url: 'http://stored:3000',
      apiKeyFrom: `stored in ${configPath(env)}`,
    });
    expect(resolveConfig({}, { ...env, TRAINYARD_URL: '', TRAINYARD_API_KEY: '  ' })).toEqual({
      url: 'http://stored:3000',
      apiKey: 'stored-secret',
    });
    expect(resolveConfig({ 'api-key': ' k\n' }, { ...env, TRAINYARD_API_KEY: ' e ' })).toMatchObject({ apiKey: 'k' });
    expect(resolveConfig({}, { ...env, TRAINYARD_API_KEY: ' e ' })).toMatchObject({ apiKey: 'e' });
  });

  it('says a config.json that does not parse is damaged, naming it (exit 7), for config and any command', async () => {
    writeFileSync(configPath(env), '{"url": "http://stored:3000", ');
    for (const argv of [['config'], ['ls']]) {
      const result = await cli(argv, env);
      expect(result.code).toBe(EXIT.LOCAL_IO);
      expect(result.stderr).toMatch(
        new RegExp(`^trainyard: ${configPath(env)} is damaged \\(not valid JSON: .*\\): fix it, or write it anew`),
      );
    }
  });
});
