import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptedApi } from '../testing/scripted-api';
import { configPath, resolveConfig, writeConfig } from './cli-config';
import { COMMANDS, runCli } from './cli-main';
import { EXIT } from './exit-codes';

async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    stdoutIsTty: false,
    env,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

describe('trainyard command line', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-cli-unit-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it.each(COMMANDS.map((c) => c.name))('documents `%s` with --help', async (name) => {
    const { code, stdout } = await cli([name, '--help']);
    expect(code).toBe(EXIT.OK);
    expect(stdout).toMatch(new RegExp(`^Usage: trainyard ${name}`));
    expect(stdout).toContain('--json');
  });

  it('answers usage errors with exit 1 and says where to look', async () => {
    expect(await cli([])).toMatchObject({ code: EXIT.USAGE });
    expect(await cli(['frobnicate'])).toMatchObject({
      code: EXIT.USAGE,
      stderr: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(await cli(['ls', '--bogus'])).toMatchObject({
      code: EXIT.USAGE,
      stderr: expect.stringContaining('trainyard ls --help'),
    });
    expect(await cli(['watch'], { TRAINYARD_URL: 'http://127.0.0.1:9' })).toMatchObject({
      code: EXIT.USAGE,
      stderr: expect.stringContaining('Missing run id'),
    });
  });

  it.each(COMMANDS.filter((c) => c.maxArgs !== undefined).map((c) => [c.name, c.maxArgs!]))(
    'refuses an argument more than `%s` takes (%i), exit 1, before any request',
    async (name, max) => {
      const api = await scriptedApi({});
      try {
        const extra = Array.from({ length: max + 1 }, (_, i) => `arg${i}`);
        const result = await cli([name, ...extra], { XDG_CONFIG_HOME: home, TRAINYARD_URL: api.url });
        expect(result).toMatchObject({ code: EXIT.USAGE, stdout: '' });
        expect(result.stderr).toContain(`: "arg${max}" left over`);
        expect(api.seen).toEqual([]);
      } finally {
        await api.close();
      }
    },
  );

  it('refuses extra words after a subcommand, and says to quote a name with spaces', async () => {
    const api = await scriptedApi({});
    try {
      const env = { XDG_CONFIG_HOME: home, TRAINYARD_URL: api.url };
      const rename = await cli(['rename', 'run-1', 'new', 'name'], env);
      expect(rename).toMatchObject({ code: EXIT.USAGE });
      expect(rename.stderr).toContain(
        'rename takes 2 arguments (<run> <name>), got 3: "name" left over (quote an argument that holds spaces)',
      );
      expect((await cli(['cancel', 'run-a', 'run-b'], env)).code).toBe(EXIT.USAGE);
      for (const words of [
        ['models', 'register', 'm', 'run-1', 'x'],
        ['models', 'm', 'x'],
        ['datasets', 'show', 'd', 'x'],
        ['datasets', 'upload', 'd', home, 'x'],
        ['datasets', 'register', 'd', 'x', '--path', home],
        ['pipelines', 'cancel', 'p', 'x'],
        ['sweeps', 'show', 's', 'x'],
        ['sweeps', 's', 'x'],
        ['workers', 'drain', 'w', 'x'],
      ])
        expect(await cli(words, env)).toMatchObject({
          code: EXIT.USAGE,
          stderr: expect.stringContaining('"x" left over'),
        });
      expect(api.seen).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it('note: a file it cannot read is a usage error naming it; so is text and --file at once', async () => {
    const api = await scriptedApi({});
    try {
      const env = { XDG_CONFIG_HOME: home, TRAINYARD_URL: api.url };
      const missing = join(home, 'no-notes.md');
      expect(await cli(['note', 'run-1', '--file', missing], env)).toMatchObject({
        code: EXIT.USAGE,
        stderr: `trainyard: cannot read ${missing}: no such file or directory\n`,
      });
      expect(await cli(['note', 'run-1', 'text', '--file', missing], env)).toMatchObject({
        code: EXIT.USAGE,
        stderr: expect.stringContaining('Give the notes one way'),
      });
      expect(api.seen).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it('exits 6 before any request when no API URL is configured, 2 when the API cannot be reached', async () => {
    expect(await cli(['ls'], { XDG_CONFIG_HOME: home })).toMatchObject({ code: EXIT.NOT_CONFIGURED });
    const unreachable = await cli(['ls'], { XDG_CONFIG_HOME: home, TRAINYARD_URL: 'http://127.0.0.1:9' });
    expect(unreachable).toMatchObject({ code: EXIT.API, stderr: expect.stringContaining('cannot reach the API') });
  });

  it('stores the login 0600 under XDG_CONFIG_HOME; the environment and flags override it', () => {
    const env = { XDG_CONFIG_HOME: home };
    const path = writeConfig({ url: 'http://stored', apiKey: 'stored-key' }, env);
    expect(path).toBe(join(home, 'trainyard', 'config.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: 'http://stored', apiKey: 'stored-key' });
    expect(resolveConfig({}, env)).toEqual({ url: 'http://stored', apiKey: 'stored-key' });
    expect(resolveConfig({}, { ...env, TRAINYARD_URL: 'http://env', TRAINYARD_API_KEY: 'env-key' })).toEqual({
      url: 'http://env',
      apiKey: 'env-key',
    });
    expect(resolveConfig({ url: 'http://flag' }, { ...env, TRAINYARD_URL: 'http://env' })).toMatchObject({
      url: 'http://flag',
    });
    // The stored key goes to the stored URL only (a trailing slash aside), never to another host.
    expect(resolveConfig({ url: 'http://other' }, env)).toEqual({ url: 'http://other', apiKey: undefined });
    expect(resolveConfig({}, { ...env, TRAINYARD_URL: 'http://other' })).toEqual({
      url: 'http://other',
      apiKey: undefined,
    });
    expect(resolveConfig({ url: 'http://stored/' }, env)).toEqual({ url: 'http://stored/', apiKey: 'stored-key' });
    expect(resolveConfig({ url: 'http://other', 'api-key': 'given' }, env)).toMatchObject({ apiKey: 'given' });
    expect(configPath({ HOME: '/home/u' })).toBe('/home/u/.config/trainyard/config.json');
  });

  it('prints bash and zsh completion naming every command', async () => {
    for (const shell of ['bash', 'zsh']) {
      const { code, stdout } = await cli(['completion', shell]);
      expect(code).toBe(EXIT.OK);
      expect(stdout).toContain('complete -F _trainyard trainyard');
      for (const c of COMMANDS) expect(stdout).toContain(`${c.name})`);
    }
    expect((await cli(['completion', 'fish'])).code).toBe(EXIT.USAGE);
  });
});
