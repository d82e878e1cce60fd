#!/usr/bin/env node
// The `trainyard` command (package.json `bin`): see cli/cli-main.ts for the commands.
import { runCli } from './cli/cli-main';

const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());

void runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdoutIsTty: process.stdout.isTTY === true,
  env: process.env,
  signal: interrupt.signal,
}).then((code) => {
  process.exitCode = code;
});
