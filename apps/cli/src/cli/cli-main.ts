import { TrainyardApiError } from '@trainyard/client';
import { jsonText, terminalSafe } from '../terminal-safe';
import { datasetsCommand, modelsCommand, pipelinesCommand, sweepsCommand } from './catalog-commands';
import { commandHelp, expectArgs, makeContext, parseCommandArgs, type Command } from './command';
import { downloadCommand } from './download.command';
import { connectionLost } from './connection-lost';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { limitsCommand, queuesCommand, workersCommand } from './fleet-commands';
import { archiveCommand, noteCommand, renameCommand, rmCommand, tagCommand } from './housekeeping-commands';
import {
  cancelCommand,
  compareCommand,
  logsCommand,
  lsCommand,
  metricsCommand,
  showCommand,
  submitCommand,
} from './run-commands';
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
];
COMMANDS.push(completionCommand(() => COMMANDS));

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  stdoutIsTty: boolean;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
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
    'Every command takes --json, --url, --api-key and --help (`trainyard <command> --help`).',
    'Exit codes: 0 ok, 1 usage or invalid spec, 2 API error or unreachable, 3 run FAILED, 4 run CANCELLED,',
    '            5 checkpoint damaged or not as its manifest says, 6 not logged in.',
    '',
  ].join('\n');
}

/** Runs one command line and returns its exit code; writes only through `io`, so tests drive it in process too. */
export async function runCli(argv: string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(topic ? commandHelp(topic) : mainHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`trainyard: unknown command "${terminalSafe(name)}"\n\n${mainHelp()}`);
    return EXIT.USAGE;
  }
  return runCommand(command, rest, io);
}

/** One command with its arguments (the words after its name): parsed, run, and any failure reported. */
export async function runCommand(command: Command, argv: string[], io: CliIo): Promise<ExitCode> {
  try {
    const { args, values } = parseCommandArgs(command, argv);
    if (values['help']) {
      io.out(commandHelp(command));
      return EXIT.OK;
    }
    if (command.maxArgs !== undefined) expectArgs(command, args, command.maxArgs, command.usage);
    return await command.run(makeContext(values, args, io));
  } catch (error) {
    return report(error, io, values(argv));
  }
}

function values(rest: string[]): { json: boolean } {
  return { json: rest.includes('--json') };
}

/**
 * One line on stderr (with --json, the problem as JSON on stdout too), and the code for its kind.
 * Messages carry the API's words (a problem's detail, a blocker, a cause): all are made
 * terminal-safe; the API's own message as one line, the CLI's (which may span lines) as lines.
 */
function report(error: unknown, io: CliIo, flags: { json: boolean }): ExitCode {
  const err = (text: string) => io.err(terminalSafe(text, { multiline: true }));
  if (error instanceof CliError) {
    err(`trainyard: ${error.message}\n`);
    return error.code;
  }
  if (error instanceof TrainyardApiError) {
    if (flags.json) io.out(`${jsonText({ error: { status: error.status, ...error.body } }, 2)}\n`);
    io.err(`trainyard: ${terminalSafe(`${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`)}\n`);
    return EXIT.API;
  }
  // Matched by name: fetch's errors may come from another realm than this module's Error.
  const failed = error as { name?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  if (failed?.name === 'AbortError' || failed?.name === 'TimeoutError') {
    io.err('trainyard: interrupted\n');
    return EXIT.API;
  }
  const lost = connectionLost(error);
  if (lost) {
    io.err(`trainyard: ${terminalSafe(lost)}\n`);
    return EXIT.API;
  }
  err(`trainyard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.API;
}
