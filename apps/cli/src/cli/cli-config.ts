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

export function readStoredConfig(env: Env = process.env): Partial<CliConfig> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(configPath(env), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<CliConfig>) : {};
  } catch {
    return {};
  }
}

/** The key is a secret: the file is created 0600 and chmod-ed again in case it existed wider. */
export function writeConfig(config: CliConfig, env: Env = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Flags win over TRAINYARD_URL / TRAINYARD_API_KEY, which win over what `login` stored. */
export function resolveConfig(flags: { url?: string; 'api-key'?: string }, env: Env = process.env): CliConfig {
  const stored = readStoredConfig(env);
  const { url, source } = chosenApiUrl(flags.url, env, stored);
  if (!url)
    throw new CliError(
      `No API URL: run \`trainyard login --url <url>\`, or set TRAINYARD_URL (config: ${configPath(env)})`,
      EXIT.NOT_CONFIGURED,
    );
  checkApiUrl(url, source);
  // The stored key belongs to the stored URL: another URL (a flag, TRAINYARD_URL) never gets it.
  const storedKey = sameApiUrl(url, stored.url) ? stored.apiKey : undefined;
  return { url, apiKey: flags['api-key'] ?? env['TRAINYARD_API_KEY'] ?? storedKey };
}

/** The API URL given (--url, else TRAINYARD_URL, else the one `login` stored), and which of them gave it. */
export function chosenApiUrl(
  flag: string | undefined,
  env: Env,
  stored: Partial<CliConfig> = readStoredConfig(env),
): { url: string | undefined; source: string } {
  if (flag !== undefined) return { url: flag, source: '--url' };
  if (env['TRAINYARD_URL'] !== undefined) return { url: env['TRAINYARD_URL'], source: 'TRAINYARD_URL' };
  return { url: stored.url, source: `the URL stored in ${configPath(env)}` };
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
