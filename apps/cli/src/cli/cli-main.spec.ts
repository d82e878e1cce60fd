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

  it.each(COMMANDS.map((c) => c.name))("`%s --help`: every option's description starts in one column", async (name) => {
    const { stdout } = await cli([name, '--help']);
    const rows = stdout
      .slice(stdout.indexOf('Options:\n') + 'Options:\n'.length)
      .trimEnd()
      .split('\n');
    const columns = new Set(rows.map((row) => /^ {2}(?:-\w, | {4})--\S+(?: <value>)? +/.exec(row)![0].length));
    expect(columns.size).toBe(1);
  });

  it('prints the help to stderr with exit 1 when no command is given, to stdout when asked for', async () => {
    expect(await cli([])).toMatchObject({
      code: EXIT.USAGE,
      stdout: '',
      stderr: expect.stringMatching(/^Usage: trainyard/),
    });
    expect(await cli(['--help'])).toMatchObject({ code: EXIT.OK, stdout: expect.stringMatching(/^Usage: trainyard/) });
    expect(await cli(['help', 'ls'])).toMatchObject({
      code: EXIT.OK,
      stdout: expect.stringMatching(/^Usage: trainyard ls/),
    });
  });

  it('says `help` of a command there is none of is an unknown command, exit 1', async () => {
    const result = await cli(['help', 'nope']);
    expect(result).toMatchObject({ code: EXIT.USAGE, stdout: '' });
    expect(result.stderr).toMatch(/^trainyard: unknown command "nope"\n/);
  });

  it('says its version', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '../../../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(await cli(['--version'])).toEqual({ code: EXIT.OK, stdout: `trainyard ${version}\n`, stderr: '' });
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

  it.each([
    [['submit', 'spec.yaml', '--dryrun'], "Unknown option '--dryrun': did you mean --dry-run?", 'submit'],
    [['watch', 'abcd1234', '--jsn'], "Unknown option '--jsn': did you mean --json?", 'watch'],
    [['metrics', 'abcd1234', '--name', 'loss'], "Unknown option '--name': did you mean --names?", 'metrics'],
    [['keys', 'create', '--scope', 'read'], "Unknown option '--scope': did you mean --scopes?", 'keys'],
    [['ls', '--JSON'], "Unknown option '--JSON': did you mean --json?", 'ls'],
  ])('%j: a mistyped option is named with the one meant (exit 1)', async (argv, said, command) => {
    const result = await cli(argv, { XDG_CONFIG_HOME: home, TRAINYARD_URL: 'http://127.0.0.1:9' });
    expect(result).toMatchObject({ code: EXIT.USAGE, stdout: '' });
    expect(result.stderr).toBe(`trainyard: ${said}\nSee \`trainyard ${command} --help\`.\n`);
  });

  it('an option no command option is near is named with the options the command takes, not taken for a positional', async () => {
    const result = await cli(['compare', 'abcd1234', 'abcd5678', '--bogus'], { XDG_CONFIG_HOME: home });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toBe(
      "trainyard: Unknown option '--bogus' (compare takes --names, --json, --url, --api-key, --help; " +
        "an argument that starts with '-' goes after '--')\nSee `trainyard compare --help`.\n",
    );
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
      expect(await cli(['note', '00000000-0000-4000-8000-000000000001', '--file', missing], env)).toMatchObject({
        code: EXIT.USAGE,
        stderr: `trainyard: cannot read ${missing}: no such file or directory\n`,
      });
      expect(await cli(['note', '00000000-0000-4000-8000-000000000001', 'text', '--file', missing], env)).toMatchObject(
        {
          code: EXIT.USAGE,
          stderr: expect.stringContaining('Give the notes one way'),
        },
      );
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

  it('names the URL it could not reach, and says the server may not be running', async () => {
    const gone = await scriptedApi({});
    await gone.close(); // a port nothing listens on any more
    const result = await cli(['ls'], { XDG_CONFIG_HOME: home, TRAINYARD_URL: gone.url });
    expect(result).toMatchObject({ code: EXIT.API, stdout: '' });
    expect(result.stderr).toBe(
      `trainyard: cannot reach the API at ${gone.url}: ECONNREFUSED (nothing listens there: is the server running? Else check --url, TRAINYARD_URL or \`trainyard login\`)\n`,
    );
    const asJson = await cli(['show', '00000000-0000-4000-8000-000000000001', '--json'], {
      XDG_CONFIG_HOME: home,
      TRAINYARD_URL: gone.url,
    });
    expect(asJson.code).toBe(EXIT.API);
    expect(JSON.parse(asJson.stdout)).toEqual({
      error: {
        title: 'API unreachable',
        detail: expect.stringContaining(`at ${gone.url}: ECONNREFUSED`),
        url: gone.url,
      },
    });
  });

  it.each([
    [['ls', '--url', '127.0.0.1:3000'], {}, '--url: "127.0.0.1:3000"', 'http://127.0.0.1:3000'],
    [['ls'], { TRAINYARD_URL: 'localhost:3000' }, 'TRAINYARD_URL: "localhost:3000"', 'http://localhost:3000'],
    [['login', '--url', '127.0.0.1:3000', '--api-key', 'k'], {}, '--url: "127.0.0.1:3000"', 'http://127.0.0.1:3000'],
    [['login', '--api-key', 'k'], { TRAINYARD_URL: 'localhost:3000' }, 'TRAINYARD_URL: "localhost:3000"', 'http://'],
    [['ls', '--url', 'ftp://host:21'], {}, '--url: "ftp://host:21"', 'http://host:21'],
    [['ls', '--url', 'http://exa mple'], {}, '--url: "http://exa mple"', 'http://'],
  ])(
    '%j with %j: a URL with no http:// or https:// is a usage error naming where it came from',
    async (argv, extra, named, example) => {
      const result = await cli(argv, { XDG_CONFIG_HOME: home, ...extra });
      expect(result).toMatchObject({ code: EXIT.USAGE, stdout: '' });
      expect(result.stderr).toContain(
        `trainyard: ${named} is not an http:// or https:// URL; include the scheme, e.g. ${example}`,
      );
      expect(result.stderr).not.toMatch(/TypeError|\n\s+at /);
    },
  );

  it('a URL stored in the config that is none is named with the config file', async () => {
    const own = mkdtempSync(join(tmpdir(), 'trainyard-cli-unit-'));
    try {
      const path = writeConfig({ url: '127.0.0.1:3000', apiKey: 'k' }, { XDG_CONFIG_HOME: own });
      const result = await cli(['ls'], { XDG_CONFIG_HOME: own });
      expect(result).toMatchObject({ code: EXIT.USAGE });
      expect(result.stderr).toContain(`the URL stored in ${path}: "127.0.0.1:3000" is not an http:// or https:// URL`);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it.each([
    [['submit', 'x.yaml', '--kind', 'bogus'], '--kind'],
    [['ls', '--limit'], '--limit'],
    [['ls', '--bogus'], '--bogus'],
    [['watch'], 'run id'],
    [['limits', 'p', '--max-running', 'x'], '--max-running'],
  ])('%j: the usage error names what was wrong in its problem details (errors[].field)', async (argv, field) => {
    const result = await cli([...argv, '--json'], { XDG_CONFIG_HOME: home, TRAINYARD_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(EXIT.USAGE);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { title: 'Usage error', errors: [{ field }] } });
  });

  it('with --json, prints every failure as problem details on stdout too, not only on stderr', async () => {
    const api = await scriptedApi({});
    try {
      const env = { XDG_CONFIG_HOME: home, TRAINYARD_URL: api.url };
      const usage = await cli(['ls', '--bogus', '--json'], env);
      expect(usage.code).toBe(EXIT.USAGE);
      expect(usage.stderr).toContain("Unknown option '--bogus'");
      expect(JSON.parse(usage.stdout)).toEqual({
        error: {
          title: 'Usage error',
          detail: expect.stringContaining("Unknown option '--bogus'"),
          errors: [{ field: '--bogus', message: expect.stringContaining("Unknown option '--bogus'") }],
        },
      });
      const unknown = await cli(['frobnicate', '--json'], env);
      expect(unknown.code).toBe(EXIT.USAGE);
      expect(JSON.parse(unknown.stdout)).toEqual({
        error: { title: 'Usage error', detail: 'unknown command "frobnicate"' },
      });
      const missing = join(home, 'typo.yaml');
      const unreadable = await cli(['submit', missing, '--json'], env);
      expect(unreadable).toMatchObject({
        code: EXIT.USAGE,
        stderr: `trainyard: cannot read ${missing}: no such file or directory\n`,
      });
      expect(JSON.parse(unreadable.stdout)).toEqual({
        error: { title: 'Usage error', detail: `cannot read ${missing}: no such file or directory` },
      });
      const notLoggedIn = await cli(['ls', '--json'], { XDG_CONFIG_HOME: home });
      expect(notLoggedIn.code).toBe(EXIT.NOT_CONFIGURED);
      expect(JSON.parse(notLoggedIn.stdout)).toMatchObject({ error: { title: 'Not logged in' } });
      expect(api.seen).toEqual([]);
    } finally {
      await api.close();
    }
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

  it('completes the subcommands every usage names, upload of datasets among them', async () => {
    const { stdout } = await cli(['completion', 'bash']);
    expect(stdout).toContain('    datasets) subs="show upload register rm"');
    expect(stdout).toContain('    keys) subs="list create revoke"');
    expect(stdout).toContain('    completion) subs="bash zsh"');
    // A value of an option (--max-running N|default) is no subcommand.
    expect(stdout).toContain('    limits) subs=""');
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

  it.each([
    [['completion', 'bash', '--json'], '--json', 'completion prints a shell script, not JSON: leave out --json'],
    [['metrics', 'run-1', '--json', '--format', 'csv'], '--format', '--json prints JSON Lines, not --format csv'],
    [['metrics', 'run-1', '--format', 'xml'], '--format', '--format must be csv or jsonl, got "xml"'],
  ])('%j: a usage error naming the flag under --json too, nothing printed but it', async (argv, field, message) => {
    const result = await cli([...argv, '--json'], { XDG_CONFIG_HOME: home, TRAINYARD_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(message);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { title: 'Usage error', errors: [{ field }] } });
  });
});
