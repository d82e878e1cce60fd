#!/usr/bin/env node
// The `trainyard` command (package.json `bin`): see cli/cli-main.ts for the commands, and
// cli/process-io.ts for how it meets its process (Ctrl-C, a closed stdout, the exit code).
import { runAsProcess } from './cli/process-io';

runAsProcess(process.argv.slice(2));
