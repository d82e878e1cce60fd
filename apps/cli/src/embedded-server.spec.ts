import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EMBEDDED_DATABASE_IN_USE_EXIT_CODE } from './embedded-process';

// The compiled server, started as the README starts it: `node tools/build.mjs apps/cli` (or npm run build) first.
const SERVER = resolve(__dirname, '../../../dist/apps/cli/src/embedded-server.js');

describe('embedded-server.js while another process holds the embedded database', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-embedded-held-'));
  // The holder: a live process the lock names (what a running embedded server writes there).
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  afterAll(() => {
    holder.kill();
    rmSync(home, { recursive: true, force: true });
  });

  it('exits 75 with the one clear message naming the holder: no Nest exception handler, no stack frames', async () => {
    writeFileSync(
      join(home, 'pglite.lock'),
      JSON.stringify({ pid: holder.pid, command: 'node embedded-server.js', since: '2026-01-01T00:00:00.000Z' }),
    );
    const server = spawn(process.execPath, [SERVER], {
      env: { ...process.env, TRAINYARD_HOME: home, DATABASE_URL: '', S3_ENDPOINT: '', API_PORT: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (chunk) => (output += chunk));
    server.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((done) => server.on('close', done));
    expect(code).toBe(EMBEDDED_DATABASE_IN_USE_EXIT_CODE);
    expect(output.trimEnd().split('\n')).toEqual([
      expect.stringContaining(
        `is in use by process ${holder.pid} (node embedded-server.js, since 2026-01-01T00:00:00.000Z)`,
      ),
    ]);
    expect(output).toContain(`kill ${holder.pid}`);
  }, 60_000);
});
