import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './processes';

/**
 * A redis-server of one test's own, on a port that stays its own across a kill and a restart: for
 * outages that must not touch the shared Redis the other suites use.
 */
export class ThrowawayRedis {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'trainyard-throwaway-redis-'));

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it, unless it runs already. */
  async start(): Promise<void> {
    if (await this.answers()) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.child = spawn('redis-server', [...args, '--dir', this.dir, '--maxmemory-policy', 'noeviction'], {
      stdio: 'ignore',
    });
    await waitFor('the throwaway Redis to answer', async () => ((await this.answers()) ? true : undefined), 10_000);
  }

  /** SIGKILL: a crash, every connection reset, nothing saved. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const client = spawn('redis-cli', ['-p', String(this.port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      client.stdout.on('data', (d) => (out += d));
      client.once('exit', () => resolve(out.trim() === 'PONG'));
    });
  }
}
