import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export { freePort } from '@trainyard/db/testing';

// The repository root, whether this runs from source (tests) or compiled under dist/ (npm run chaos).
const ROOT = join(__dirname, __dirname.split(/[\\/]/).includes('dist') ? '../../..' : '../..');

export interface AppProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a compiled app (`npm run build` output) as a real child process and keeps its output. */
export function startApp(app: 'api' | 'worker', env: Record<string, string>): AppProcess {
  return startScript(`dist/apps/${app}/src/main.js`, env);
}

/** Starts a compiled script, relative to the repository root, as a child process. */
export function startScript(script: string, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${describe()}`);
}
