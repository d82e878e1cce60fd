import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT, usageError } from './exit-codes';

export interface CliConfig {
  url: string;
  apiKey?: string;
}

type Env = Record<string, string | undefined>;

/** `$XDG_CONFIG_HOME/trainyard/config.json`, else `~/.config/trainyard/config.json`. */
export function configPath(env: Env = process.env): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'trainyard', 'config.json');
}

/** config.json that is there but not a login `trainyard login` wrote: said, naming it, rather than taken for none. */
export class DamagedConfigError extends CliError {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`${path} is damaged (${why}): fix it, or write it anew with \`trainyard login\``, EXIT.LOCAL_IO, [
      { field: path, message: why },
    ]);
  }
}

/** What `login` stored: none when there is no file; a DamagedConfigError when the file is no login. */
export function readStoredConfig(env: Env = process.env): Partial<CliConfig> {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error; // unreadable (EACCES…): told as a local file error, naming the path
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DamagedConfigError(path, `not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new DamagedConfigError(path, 'not a JSON object');
  const { url, apiKey } = parsed as Record<string, unknown>;
  if ((url !== undefined && typeof url !== 'string') || (apiKey !== undefined && typeof apiKey !== 'string'))
    throw new DamagedConfigError(path, '"url" and "apiKey" must be strings');
  return { url, apiKey };
}

/** The key is a secret: the file is created 0600 and chmod-ed again in case it existed wider. */
export function writeConfig(config: CliConfig, env: Env = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/**
 * A variable's value, trimmed, or undefined when it is unset or holds nothing but spaces: an empty
 * `TRAINYARD_URL=` or `TRAINYARD_API_KEY=""` reads as unset (as a shell user means it), never as a
 * URL or a key that is "".
 */
function fromEnv(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

/**
 * The key given, trimmed (a key pasted with a space is refused by the API as malformed): --api-key,
 * else TRAINYARD_API_KEY; undefined when neither. An --api-key that is empty is a usage error: a
 * script that meant to pass a key passed none.
 */
export function givenApiKey(flag: string | undefined, env: Env): { key: string; source: string } | undefined {
  if (flag !== undefined) {
    const key = flag.trim();
    if (!key) throw usageError('--api-key is empty', '--api-key');
    return { key, source: '--api-key' };
  }
  const key = fromEnv(env, 'TRAINYARD_API_KEY');
  return key === undefined ? undefined : { key, source: 'TRAINYARD_API_KEY' };
}

/** What a command would use: the URL and the key, each with where it comes from (undefined where none). */
export interface EffectiveConfig {
  url?: string;
  urlSource?: string;
  apiKey?: string;
  keySource?: string;
  /** A stored key left unused, and why: it belongs to another URL. */
  storedKeyUnused?: string;
}

/**
 * Flags win over TRAINYARD_URL / TRAINYARD_API_KEY, which win over what `login` stored; the stored
 * key goes only with the stored URL. The login file is read only when it is needed.
 */
export function effectiveConfig(flags: { url?: string; 'api-key'?: string }, env: Env = process.env): EffectiveConfig {
  let stored: Partial<CliConfig> | undefined;
  const login = () => (stored ??= readStoredConfig(env));
  const { url, source } = chosenApiUrl(flags.url, env, login);
  const given = givenApiKey(flags['api-key'], env);
  if (given) return { url, urlSource: source, apiKey: given.key, keySource: given.source };
  const { url: storedUrl, apiKey: storedKey } = login();
  if (!storedKey) return { url, urlSource: source };
  // The stored key belongs to the stored URL: another URL (a flag, TRAINYARD_URL) never gets it.
  if (url !== undefined && sameApiUrl(url, storedUrl))
    return { url, urlSource: source, apiKey: storedKey, keySource: `stored in ${configPath(env)}` };
  return { url, urlSource: source, storedKeyUnused: `the stored key is for ${storedUrl}, not this URL` };
}

/** What a command talks to: effectiveConfig, with a URL (exit 6 without one) that is an http(s) URL. */
export function resolveConfig(flags: { url?: string; 'api-key'?: string }, env: Env = process.env): CliConfig {
  const { url, urlSource, apiKey } = effectiveConfig(flags, env);
  if (!url)
    throw new CliError(
      `No API URL: run \`trainyard login --url <url>\`, or set TRAINYARD_URL (config: ${configPath(env)})`,
      EXIT.NOT_CONFIGURED,
    );
  checkApiUrl(url, urlSource!);
  return { url, apiKey };
}

/** The API URL given (--url, else TRAINYARD_URL, else the one `login` stored), and which of them gave it. */
export function chosenApiUrl(
  flag: string | undefined,
  env: Env,
  stored: () => Partial<CliConfig> = () => readStoredConfig(env),
): { url: string | undefined; source: string } {
  if (flag !== undefined) return { url: flag, source: '--url' };
  const fromVariable = fromEnv(env, 'TRAINYARD_URL');
  if (fromVariable !== undefined) return { url: fromVariable, source: 'TRAINYARD_URL' };
  return { url: stored().url, source: `the URL stored in ${configPath(env)}` };
}

/**
 * A usage error naming `source` (`--url`, `TRAINYARD_URL`, the config file) unless `url` is an
 * http:// or https:// URL: fetch reads `localhost:3000` as a URL of the scheme `localhost:` and
 * cannot parse `127.0.0.1:3000`, and neither of its errors says which setting was wrong.
 */
export function checkApiUrl(url: string, source: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // no URL at all
  }
  if (protocol === 'http:' || protocol === 'https:') return;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i;
  const example = scheme.test(url) ? url.replace(scheme, 'http://') : `http://${url}`;
  throw usageError(
    `${source}: ${JSON.stringify(url)} is not an http:// or https:// URL; include the scheme, e.g. ${example}`,
    source,
  );
}

/** Whether two API URLs name the same API (trailing slashes aside). */
export function sameApiUrl(a: string, b: string | undefined): boolean {
  return b !== undefined && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
