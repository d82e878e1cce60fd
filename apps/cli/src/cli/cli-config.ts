import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './exit-codes';

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
  const url = flags.url ?? env['TRAINYARD_URL'] ?? stored.url;
  if (!url)
    throw new CliError(
      `No API URL: run \`trainyard login --url <url>\`, or set TRAINYARD_URL (config: ${configPath(env)})`,
      EXIT.NOT_CONFIGURED,
    );
  // The stored key belongs to the stored URL: another URL (a flag, TRAINYARD_URL) never gets it.
  const storedKey = sameApiUrl(url, stored.url) ? stored.apiKey : undefined;
  return { url, apiKey: flags['api-key'] ?? env['TRAINYARD_API_KEY'] ?? storedKey };
}

/** Whether two API URLs name the same API (trailing slashes aside). */
export function sameApiUrl(a: string, b: string | undefined): boolean {
  return b !== undefined && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
