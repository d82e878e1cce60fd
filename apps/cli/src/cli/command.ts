import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TrainyardClient } from '@trainyard/client';
import { DECIMAL_DIGITS, decimalInt, ProjectNameSchema } from '@trainyard/contracts';
import leven from 'leven';
import type { z } from 'zod';
import { displayWidth } from '../display-width';
import { jsonText, terminalSafe } from '../terminal-safe';
import { resolveConfig, type CliConfig } from './cli-config';
import { usageError, type ExitCode } from './exit-codes';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command gets: its parsed arguments, a client made from the login config, and where to write. */
export interface CommandContext {
  args: string[];
  values: Values;
  json: boolean;
  /** A client for the API of the login config (flags, environment, stored login), or for `target` (what `login` checks). */
  client(target?: CliConfig): TrainyardClient;
  /** The URL of the API the last client made talks to (undefined before one is made): an unreachable API is named by it. */
  readonly apiUrl: string | undefined;
  /**
   * Writes to stdout with every control character but line feeds and tabs shown escaped (see
   * terminalSafe): what a command prints holds names and reasons from the API, and none of it
   * may drive the terminal. A value meant as one line is escaped where it is rendered.
   */
  out(text: string): void;
  /** Writes to stderr, escaped as `out`. */
  err(text: string): void;
  /**
   * Clears the terminal's current line and draws `line` (made terminal-safe) on it: the CLI's only
   * terminal code (none at all under TERM=dumb: a carriage return and spaces).
   */
  redraw(line: string): void;
  /**
   * Ends a line `redraw` left open (a progress line), so what follows, a failure's message on
   * stderr included, starts on a line of its own rather than after the ETA.
   */
  endLine(): void;
  stdoutIsTty: boolean;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  /** All of stdin, as text (`submit -`). */
  readStdin(): Promise<string>;
}

export interface Command {
  name: string;
  /** `<run>`, `<file>`, `[register NAME --path P]`… */
  usage: string;
  /**
   * The most positional arguments it takes, where that is fixed (`<run> <name>`: 2): more is a
   * usage error, not a word silently dropped. Commands with subcommands or lists check their own.
   */
  maxArgs?: number;
  summary: string;
  /** Extra lines for `--help`. */
  details?: string;
  options?: OptionSpecs;
  /**
   * With --json it prints JSON Lines (one value a line: `watch`, `logs`, `metrics`): a failure's
   * problem details are one line too, so a reader of lines parses every line it gets.
   */
  jsonLines?: boolean;
  /** Option descriptions, by option name, for `--help`. */
  optionHelp?: Record<string, string>;
  run(ctx: CommandContext): Promise<ExitCode>;
}

/** Accepted by every command. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
const GLOBAL_HELP: Record<string, string> = {
  json: 'print the API answer as JSON (for scripts)',
  url: 'API URL (else TRAINYARD_URL, else the login config)',
  'api-key': 'API key (else TRAINYARD_API_KEY, else the login config)',
  help: 'this help',
};

export function parseCommandArgs(command: Command, argv: string[]): { args: string[]; values: Values } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    return { args: positionals, values: values as Values };
  } catch (error) {
    // parseArgs names the unknown or malformed option ("Unknown option '--bogus'", "Option '--limit
    // <value>' argument missing"): the flag for the problem details, and where to look.
    const { message, code } = error as Error & { code?: string };
    const flag = /'(--?[^' ]+)/.exec(message)?.[1];
    const said = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag ? unknownOptionMessage(command, flag) : message;
    throw usageError(`${said}\nSee \`trainyard ${command.name} --help\`.`, flag);
  }
}

/**
 * parseArgs' own message for a mistyped option (`--dryrun`) told how to pass a positional that starts
 * with '-': the option meant, or those the command takes, is what a person looks for.
 */
function unknownOptionMessage(command: Command, flag: string): string {
  const names = Object.keys({ ...command.options, ...GLOBAL_OPTIONS });
  // Options are lowercase: `--JSON` means `--json` as surely as `--jsn` does.
  const typed = flag.replace(/^--?/, '').toLowerCase();
  let meant: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = leven(typed, name);
    if (distance <= 2 && distance < typed.length / 2 && (!meant || distance < meant.distance))
      meant = { name, distance };
  }
  if (meant) return `Unknown option '${flag}': did you mean --${meant.name}?`;
  const takes = names.map((name) => `--${name}`).join(', ');
  return `Unknown option '${flag}' (${command.name} takes ${takes}; an argument that starts with '-' goes after '--')`;
}

/** A usage error when `args` holds more than `max` positional arguments (`shape` shows the ones it takes). */
export function expectArgs(command: Pick<Command, 'name'>, args: string[], max: number, shape: string): void {
  if (args.length <= max) return;
  const extra = args
    .slice(max)
    .map((a) => `"${a}"`)
    .join(' ');
  const takes = max === 0 ? 'no arguments' : `${max} argument${max === 1 ? '' : 's'} (${shape})`;
  throw usageError(
    `${command.name} takes ${takes}, got ${args.length}: ${extra} left over` +
      `${max > 0 ? ' (quote an argument that holds spaces)' : ''}\nSee \`trainyard ${command.name} --help\`.`,
  );
}

export function commandHelp(command: Command): string {
  const options = { ...command.options, ...GLOBAL_OPTIONS };
  const help = { ...command.optionHelp, ...GLOBAL_HELP };
  const flags = Object.entries(options).map(
    ([name, spec]) =>
      [
        name,
        `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ' <value>' : ''}`,
      ] as const,
  );
  // As wide as the longest flag (`--idempotency-key <value>` outgrew 28), so the descriptions line up.
  const width = Math.max(28, ...flags.map(([, flag]) => flag.length));
  const rows = flags.map(([name, flag]) => `  ${flag.padEnd(width)} ${help[name] ?? ''}`);
  return [
    `Usage: trainyard ${command.name} ${command.usage}`.trimEnd(),
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    ...rows,
    '',
  ].join('\n');
}

export function makeContext(
  values: Values,
  args: string[],
  io: {
    out(text: string): void;
    err(text: string): void;
    stdoutIsTty: boolean;
    env: Record<string, string | undefined>;
    signal: AbortSignal;
    readStdin?(): Promise<string>;
  },
): CommandContext {
  let client: TrainyardClient | undefined;
  let target: TrainyardClient | undefined;
  // Whether the last thing on stdout is a line `redraw` drew, with no line feed after it yet, and
  // how many columns it took.
  let lineOpen = false;
  let drawnWidth = 0;
  const out = (text: string) => {
    if (text) lineOpen = lineOpen && !text.endsWith('\n');
    if (!lineOpen) drawnWidth = 0;
    io.out(text);
  };
  // A dumb terminal (TERM=dumb: an Emacs shell buffer) shows escape sequences as text: there a
  // carriage return, then spaces over what the longer line before left, redraw the line.
  const dumb = io.env['TERM'] === 'dumb';
  return {
    ...io,
    out: (text) => out(terminalSafe(text, { multiline: true })),
    err: (text) => io.err(terminalSafe(text, { multiline: true })),
    redraw: (line) => {
      const safe = terminalSafe(line);
      const width = displayWidth(safe);
      io.out(dumb ? `\r${safe}${' '.repeat(Math.max(0, drawnWidth - width))}` : `\r\x1b[2K${safe}`);
      lineOpen = true;
      drawnWidth = width;
    },
    endLine: () => {
      if (lineOpen) out('\n');
    },
    readStdin: () => io.readStdin?.() ?? Promise.reject(usageError('no standard input to read')),
    args,
    values,
    json: values['json'] === true,
    get apiUrl() {
      return (target ?? client)?.baseUrl;
    },
    client(given) {
      if (given) return (target = new TrainyardClient(given.url, given.apiKey));
      if (!client) {
        const config = resolveConfig(
          { url: values['url'] as string | undefined, 'api-key': values['api-key'] as string | undefined },
          io.env,
        );
        client = new TrainyardClient(config.url, config.apiKey);
      }
      return client;
    },
  };
}

/** The positional argument at `index`, or a usage error naming it. */
export function arg(ctx: CommandContext, index: number, name: string): string {
  const value = ctx.args[index];
  if (value === undefined) throw usageError(`Missing ${name}`, name);
  return value;
}

/**
 * A file named on the command line, as text; a usage error ("cannot read FILE: reason", "FILE is a
 * folder, expected a spec file") when it cannot be read. `what` it should be names it then.
 */
export function readArgFile(path: string, what = 'file'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw usageError(`${path} is a folder, expected a ${what}`);
    throw usageError(`cannot read ${path}: ${fileErrorReason(error)}`);
  }
}

/** "no such file or directory" of Node's "ENOENT: no such file or directory, open 'x'" (the path is said already). */
export function fileErrorReason(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return /^E[A-Z]+: (.+?), \w+ '.*'$/s.exec(message)?.[1] ?? message;
}

export function str(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A flag's value held to the contract the API holds it to, before anything is sent. */
export function checkFlag(schema: z.ZodType<string>, value: string, flag: string): void {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw usageError(`${flag}: ${parsed.error.issues[0]!.message} (got "${value}")`, flag);
}

/** `--project` as given (a project name as the API takes it), or undefined. */
export function projectFlag(ctx: CommandContext): string | undefined {
  const project = str(ctx, 'project');
  if (project !== undefined) checkFlag(ProjectNameSchema, project, '--project');
  return project;
}

/** A numeric option's bounds, and what it counts (`a whole number of rows`), for its refusal. */
export interface IntRange {
  min: number;
  max: number;
  what: string;
}

/** The most an attempt number or a checkpoint sequence can be: they are PostgreSQL integers. */
export const PG_INT_MAX = 2_147_483_647;

/**
 * A numeric option, read by the API's own rule for numbers (decimalInt: decimal digits, no sign,
 * exponent, `0x` or leading zero) and held to `range`, or a usage error naming the option. Checked
 * here because what is sent must be what was typed: 22 digits made a Number are sent as `1e+21`.
 */
export function int(ctx: CommandContext, name: string, { min, max, what }: IntRange): number | undefined {
  const value = str(ctx, name);
  if (value === undefined) return undefined;
  const parsed = decimalInt({ min, max }).safeParse(value);
  if (parsed.success) return parsed.data;
  const flag = `--${name}`;
  throw usageError(
    DECIMAL_DIGITS.test(value)
      ? `${flag} expects ${what} from ${min} to ${max}, got "${value}"`
      : `${flag}: ${parsed.error.issues[0]!.message}, got "${value}"`,
    flag,
  );
}

/**
 * `--name`'s value when it is one of `allowed` (compared as `normalize` spells it: the API takes
 * `succeeded` for `SUCCEEDED`), else a usage error naming the flag and what it takes: checked here,
 * against the list the API checks with, rather than sent to be refused as an API error.
 */
export function choice<T extends string>(
  ctx: CommandContext,
  name: string,
  allowed: readonly T[],
  normalize: (value: string) => string = (value) => value,
): T | undefined {
  const value = str(ctx, name);
  if (value === undefined) return undefined;
  const normalized = normalize(value);
  if ((allowed as readonly string[]).includes(normalized)) return normalized as T;
  throw usageError(`--${name} takes ${orList(allowed)}, got "${value}"`, `--${name}`);
}

/** `a, b or c`. */
export function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/**
 * A warning on stderr: the answer is fine but shows the user likely meant something else (a metric
 * or an attempt that exists nowhere). The exit code stays what it was.
 */
export function warn(ctx: CommandContext, text: string): void {
  ctx.err(`trainyard: warning: ${text}\n`);
}

/** `value` as indented JSON, with the characters JSON.stringify leaves raw escaped (see jsonText). */
export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.out(`${jsonText(value, 2)}\n`);
}
