import { fork } from 'node:child_process';
import type { Writable } from 'node:stream';
import { CONTROL_FD, type ChildMessage, type StartMessage } from './child-messages';
import { ChildMessageSchema, describeInvalidMessage } from './child-messages.schema';
import type { ChildCrash } from './training-job.types';
import { captureOutputLines, type TrainingOutputLine } from './training-output';

export interface SupervisedChildOptions {
  /** What the process is, for messages: "training process of run …". */
  what: string;
  /** Added to this process's environment for the child (CUDA_VISIBLE_DEVICES…). */
  env?: Record<string, string>;
  /** A child that sends nothing for this long is killed with SIGKILL. */
  silenceTimeoutMs: number;
  /**
   * 'start': silence counts only from the start message on (a process started ahead of its work
   * waits, quiet, for as long as it takes); 'spawn', the default: from the start.
   */
  watchFrom?: 'spawn' | 'start';
  /** Each message, once ChildMessageSchema has checked it. The first that fails the check gets the child killed instead. */
  onMessage(message: ChildMessage): void;
  /** Each line the child prints, in order; all of them before `exited` settles (within OUTPUT_DRAIN_MS). */
  onOutput(line: TrainingOutputLine): void;
}

export interface SupervisedChild {
  readonly pid: number | null;
  /** How often the child is to send a heartbeat (its start message says so): four per deadline, so one late beat is not yet a missed deadline. */
  readonly heartbeatMs: number;
  /** Settles once the process has exited and its output is read; never rejects. */
  readonly exited: Promise<ChildCrash>;
  send(message: StartMessage): void;
  /** Writes one request byte on the control pipe (see CONTROL_BYTES). */
  control(byte: number): void;
  /** The child has reported everything: stop watching it for silence, and kill it if it does not exit soon. */
  finished(): void;
  /** Ends it now (SIGKILL). */
  kill(): void;
}

/** After the process exits, how long its last output may take to arrive before `exited` settles anyway. */
const OUTPUT_DRAIN_MS = 2000;
/** After its last report, how long a process may take to exit before it is killed (tfjs handles can keep it up). */
const EXIT_GRACE_MS = 10_000;
/** How many of the last stderr lines a crash carries, and how much of each. */
const STDERR_TAIL_LINES = 10;
const STDERR_LINE_CHARS = 500;

/**
 * Forks a compiled entry of this library as a process of its own and watches it: IPC for its
 * messages, a control pipe for requests its busy event loop could not read (see CONTROL_FD), its
 * stdout and stderr line by line, and a deadline: a child silent for `silenceTimeoutMs` (hung in
 * native code, deadlocked, stopped) is killed. The child ends itself if this process dies.
 */
export function superviseChild(entry: string, options: SupervisedChildOptions): SupervisedChild {
  const child = fork(entry, [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc', 'pipe'],
    serialization: 'advanced',
    env: { ...process.env, ...options.env },
    execArgv: childExecArgv(process.execArgv),
  });
  const controlPipe = child.stdio[CONTROL_FD] as Writable | null;
  // Writing to a child that already exited fails with EPIPE: nothing is left to ask of it then.
  controlPipe?.on('error', () => undefined);

  const stderrTail: string[] = [];
  const output = captureOutputLines({ stdout: child.stdout!, stderr: child.stderr! }, (line) => {
    if (line.stream === 'stderr') {
      stderrTail.push(line.text.slice(0, STDERR_LINE_CHARS));
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    }
    options.onOutput(line);
  });

  let heardAt = Date.now();
  let watching = options.watchFrom !== 'start';
  let suspect = false;
  let silentMs: number | undefined;
  let invalidMessage: string | undefined;
  let grace: NodeJS.Timeout | undefined;
  child.on('message', (raw: unknown) => {
    heardAt = Date.now();
    suspect = false;
    if (invalidMessage !== undefined) return;
    // Checked before anything reads it: a malformed message (a bug on the child's side, where a
    // user's model runs) must not become a SQL error, a forged log line or worse in this process.
    const parsed = ChildMessageSchema.safeParse(raw);
    if (!parsed.success) {
      invalidMessage = describeInvalidMessage(parsed.error);
      clearInterval(watch);
      child.kill('SIGKILL');
      return;
    }
    options.onMessage(parsed.data);
  });
  const tickMs = Math.max(50, Math.min(1000, Math.floor(options.silenceTimeoutMs / 4)));
  const watch = setInterval(() => {
    if (!watching) return;
    const silent = Date.now() - heardAt;
    if (silent < options.silenceTimeoutMs) return;
    // A first overdue tick may only mean that this process was the one stalled (timers run before
    // pending I/O is read): its messages get one more turn of the event loop to arrive.
    if (!suspect) {
      suspect = true;
      return;
    }
    silentMs = silent;
    clearInterval(watch);
    child.kill('SIGKILL');
  }, tickMs);

  const exited = new Promise<ChildCrash>((resolve) => {
    const end = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearInterval(watch);
      clearTimeout(grace);
      void settledWithin(output, OUTPUT_DRAIN_MS).then(() =>
        resolve({
          pid: child.pid ?? null,
          exitCode,
          signal,
          ...(silentMs === undefined ? {} : { silentMs }),
          ...(invalidMessage === undefined ? {} : { invalidMessage }),
          stderrTail: [...stderrTail],
        }),
      );
    };
    child.once('exit', end);
    child.once('error', (error) => {
      // Not started at all (no such file, out of processes): there will be no 'exit'.
      if (child.pid === undefined) {
        stderrTail.push(`${options.what} could not be started: ${error.message}`);
        end(null, null);
      }
    });
  });

  return {
    pid: child.pid ?? null,
    heartbeatMs: Math.max(250, Math.floor(options.silenceTimeoutMs / 4)),
    exited,
    send(message) {
      if (!watching) {
        watching = true;
        heardAt = Date.now();
      }
      if (child.connected) child.send(message, () => undefined);
    },
    control(byte) {
      if (controlPipe?.writable) controlPipe.write(Buffer.from([byte]));
    },
    finished() {
      clearInterval(watch);
      grace ??= setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/** One line for the attempt's record: which process, how it ended, and what it said last on stderr. */
export function describeCrash(what: string, crash: ChildCrash, timeoutMs: number): string {
  const how =
    crash.invalidMessage !== undefined
      ? `sent an invalid message and was killed (SIGKILL): ${crash.invalidMessage}`
      : crash.silentMs !== undefined
        ? `sent nothing for ${crash.silentMs} ms (WORKER_CHILD_HEARTBEAT_TIMEOUT_MS=${timeoutMs}) and was killed (SIGKILL)`
        : `ended without an outcome (${crash.signal ? `signal ${crash.signal}` : `exit code ${crash.exitCode}`})`;
  const said = crash.stderrTail.length ? `; its last stderr lines: ${crash.stderrTail.join(' | ')}` : '';
  return `${what} (pid ${crash.pid ?? 'none'}) ${how}${said}`;
}

/** Node flags that make a process what it is, not how it runs: a child given them would run them instead of its entry. */
const NOT_INHERITED =
  /^(-e|--eval|-p|--print|-i|--interactive|-c|--check|--test|--watch|--watch-path|--inspect|--inspect-brk|--inspect-port|--debug|--debug-brk)(=|$)|^--(inspect|debug)-/;
const TAKES_VALUE = new Set(['-e', '--eval', '-p', '--print', '--watch-path', '--inspect-port']);

/**
 * This process's Node flags for a child (memory limits, source maps, preloaded modules), less the
 * ones that would make it evaluate this process's `-e` script again or claim its debugger port.
 */
export function childExecArgv(execArgv: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (!NOT_INHERITED.test(arg)) kept.push(arg);
    else if (TAKES_VALUE.has(arg)) i++;
  }
  return kept;
}

function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
