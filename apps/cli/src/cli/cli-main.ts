import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { datasetsCommand, modelsCommand, pipelinesCommand, sweepsCommand } from './catalog-commands';
import { commandHelp, expectArgs, makeContext, parseCommandArgs, type Command, type CommandContext } from './command';
import { downloadCommand } from './download.command';
import { reportFailure, reportUnknownCommand } from './error-report';
import { EXIT, type ExitCode } from './exit-codes';
import { limitsCommand, queuesCommand, workersCommand } from './fleet-commands';
import { archiveCommand, noteCommand, renameCommand, rmCommand, tagCommand } from './housekeeping-commands';
import { keysCommand } from './keys.command';
import { lsCommand } from './ls.command';
import { cancelCommand, compareCommand, logsCommand, metricsCommand, showCommand, submitCommand } from './run-commands';
import { completionCommand, configCommand, loginCommand } from './session-commands';
import { watchCommand } from './watch.command';

export const COMMANDS: Command[] = [
  loginCommand,
  configCommand,
  submitCommand,
  lsCommand,
  showCommand,
  watchCommand,
  logsCommand,
  cancelCommand,
  compareCommand,
  metricsCommand,
  downloadCommand,
  tagCommand,
  renameCommand,
  noteCommand,
  archiveCommand,
  rmCommand,
  modelsCommand,
  datasetsCommand,
  pipelinesCommand,
  sweepsCommand,
  workersCommand,
  limitsCommand,
  queuesCommand,
  keysCommand,
];
COMMANDS.push(completionCommand(() => COMMANDS));

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  stdoutIsTty: boolean;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  /** All of stdin, read when a command asks for it (`submit -`). */
  readStdin?(): Promise<string>;
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: trainyard <command> [options]',
    '',
    'Submit, follow and fetch Trainyard training runs from the command line.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --json (but completion), --url, --api-key and --help (`trainyard <command> --help`);',
    '--version says which trainyard this is.',
    'RUN: a run id, or a unique prefix of one (4 hex digits or more, such as the first 8 that `workers` and `compare` print).',
    'Exit codes: 0 ok, 1 usage or invalid spec, 2 API error or unreachable, 3 run FAILED, 4 run CANCELLED,',
    '            5 checkpoint damaged or not as its manifest says, 6 not logged in,',
    '            7 a local file or folder cannot be written or read, 130 interrupted (Ctrl-C),',
    '            141 stdout closed (| head).',
    '',
  ].join('\n');
}

/**
 * The version in trainyard's package.json, the nearest above this file: the repository's root,
 * whether this runs from apps/cli/src/cli (the specs) or from the build in dist/apps/cli/src/cli.
 */
export function cliVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'trainyard' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // none here (or none that parses): look one folder up
    }
  }
  return 'unknown';
}

/** Runs one command line and returns its exit code; writes only through `io`, so tests drive it in process too. */
export async function runCli(argv: string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  // No command is a usage error: the help it gets goes where errors go, not into a pipe's data.
  if (name === undefined) return (io.err(mainHelp()), EXIT.USAGE);
  if (name === '--help' || name === '-h' || (name === 'help' && rest[0] === undefined))
    return (io.out(mainHelp()), EXIT.OK);
  if (name === '--version' || name === '-V') return (io.out(`trainyard ${cliVersion()}\n`), EXIT.OK);
  if (name === 'help') {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    if (!topic) return reportUnknownCommand(rest[0]!, io, { json: rest.includes('--json'), help: mainHelp() });
    return (io.out(commandHelp(topic)), EXIT.OK);
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return reportUnknownCommand(name, io, { json: rest.includes('--json'), help: mainHelp() });
  return runCommand(command, rest, io);
}

/** One command with its arguments (the words after its name): parsed, run, and any failure reported. */
export async function runCommand(command: Command, argv: string[], io: CliIo): Promise<ExitCode> {
  let ctx: CommandContext | undefined;
  try {
    const { args, values } = parseCommandArgs(command, argv);
    if (values['help']) {
      io.out(commandHelp(command));
      return EXIT.OK;
    }
    if (command.maxArgs !== undefined) expectArgs(command, args, command.maxArgs, command.usage);
    ctx = makeContext(values, args, io);
    return await command.run(ctx);
  } catch (error) {
    ctx?.endLine();
    // --json as typed: a failure to parse the options is reported under it too. Once Ctrl-C has
    // aborted the command's signal, whatever it rejected with says only that it was stopped.
    return reportFailure(error, io, {
      json: argv.includes('--json'),
      jsonLines: command.jsonLines,
      apiUrl: ctx?.apiUrl,
      interrupted: io.signal.aborted,
    });
  }
}
