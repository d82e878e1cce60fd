import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, type ClassificationReport, type RunDetailView, type RunSpecInput } from '@trainyard/contracts';
import { TrainyardClient } from '@trainyard/client';
import { formatDuration, formatProgress, formatTable } from './progress-line';
import { demoSpecs } from './demo-specs';
import { terminalSafe } from './terminal-safe';
import { loadConfig } from '@trainyard/config';
import {
  embeddedAdminKey,
  embeddedServerBlocker,
  embeddedServerKillAfterMs,
  startEmbeddedServer,
  stopEmbeddedServer,
  waitUntilReady,
} from './embedded-process';

/**
 * `npm run demo`: starts the API with one embedded worker (one process, so the embedded PGlite
 * database works with no configuration), then drives it over HTTP like any client would:
 * pretrain an autoencoder on unlabeled MNIST digits, fine-tune from it with 100 labels per
 * class, run the same fine-tune from scratch, and compare.
 */
async function main(): Promise<void> {
  const home = resolve(process.env.TRAINYARD_HOME ?? '.trainyard');
  mkdirSync(home, { recursive: true });
  const port = Number(process.env.API_PORT ?? 3000);
  const logPath = join(home, 'demo-server.log');
  const adminKey = embeddedAdminKey(home);
  const serverEnv = { TRAINYARD_HOME: home, TRAINYARD_ADMIN_KEY: adminKey };
  const config = loadConfig({ ...process.env, ...serverEnv });
  const { database, api } = config;
  // Before starting anything: a server already running here (another demo, the README's
  // background embedded-server.js) holds the database, or the port, or both.
  const blocker = await embeddedServerBlocker(database.url ? null : database.embeddedPath, port, api.host);
  if (blocker) throw new DemoError(blocker.message, blocker.exitCode);
  const server = startEmbeddedServer(port, logPath, serverEnv);
  const client = new TrainyardClient(`http://127.0.0.1:${port}`, adminKey);
  let stopping: Promise<unknown> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM') =>
    (stopping ??= stopEmbeddedServer(server, embeddedServerKillAfterMs(config), signal));
  // Ctrl-C: the server gets the signal and this process waits for it to stop (its worker, its
  // API, PGlite flushed; SIGKILL after embeddedServerKillAfterMs), then exits 130 (SIGTERM:
  // 143). Ctrl-C again while it stops changes nothing.
  const interrupt = (signal: NodeJS.Signals, code: number) => {
    if (stopping) return out(`\nstill stopping the server (see ${logPath})\n`);
    out(`\n${signal}: stopping the server, waiting for it to exit\n`);
    void stop(signal).then(() => process.exit(code));
  };
  process.on('SIGINT', () => interrupt('SIGINT', 130));
  process.on('SIGTERM', () => interrupt('SIGTERM', 143));

  try {
    await waitUntilReady(client, server, logPath);
    out(`Trainyard API on ${client.baseUrl} (docs at ${client.baseUrl}/docs), server log: ${logPath}\n`);
    out(`Admin key for the dashboard and curl: ${join(home, 'admin-key')}\n`);
    const specs = demoSpecs();

    const pretrain = await runToEnd(client, 'pretrain  ', specs.pretrain);
    if (pretrain.status !== 'SUCCEEDED')
      throw new Error(`pretrain ${pretrain.status}: ${pretrain.failureReason ?? ''}`);

    const finetunes = await Promise.all([
      client.submit(specs.finetune(pretrain.id)),
      client.submit(specs.finetune(null)),
    ]);
    const [pretrained, scratch] = await followAll(client, [
      ['pretrained', finetunes[0].id],
      ['scratch   ', finetunes[1].id],
    ]);
    printSummary(pretrain, pretrained, scratch);
  } finally {
    await stop();
  }
}

/** A demo that cannot start, with its own exit code (README, "npm run demo"). */
class DemoError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

async function runToEnd(client: TrainyardClient, label: string, spec: RunSpecInput): Promise<RunDetailView> {
  const { id } = await client.submit(spec);
  out(`submitted ${spec.kind} run ${id}\n`);
  const [run] = await followAll(client, [[label, id]]);
  return run;
}

/** Polls the runs twice a second, redrawing one progress line per run, until all have ended. */
async function followAll(client: TrainyardClient, runs: [string, string][]): Promise<RunDetailView[]> {
  let drawn = 0;
  for (;;) {
    const views = await Promise.all(runs.map(([, id]) => client.run(id)));
    if (drawn) out(`\x1b[${drawn}A`);
    for (const [i, view] of views.entries()) out(`\x1b[2K${formatProgress(runs[i][0], view.status, view.progress)}\n`);
    drawn = views.length;
    if (views.every((v) => isTerminal(v.status))) {
      for (const v of views)
        if (v.status !== 'SUCCEEDED') out(`run ${v.id} ${v.status}: ${terminalSafe(v.failureReason ?? '')}\n`);
      return views;
    }
    await sleep(500);
  }
}

function printSummary(pretrain: RunDetailView, pretrained: RunDetailView, scratch: RunDetailView): void {
  const wall = (r: RunDetailView) =>
    r.startedAt && r.endedAt ? formatDuration((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000) : '-';
  const report = (r: RunDetailView) => (r.result && 'accuracy' in r.result ? (r.result as ClassificationReport) : null);
  const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
  const rows = [
    ['pretrain (autoencoder)', pretrain.status, '-', '-', wall(pretrain)],
    ...[pretrained, scratch].map((r, i) => [
      i === 0 ? 'fine-tune from pretrain' : 'fine-tune from scratch',
      r.status,
      pct(report(r)?.accuracy),
      pct(report(r)?.macroF1),
      wall(r),
    ]),
  ];
  out(`\n${formatTable(['run', 'status', 'test accuracy', 'macro F1', 'wall time'], rows)}\n\n`);
  out('checkpoints:\n');
  for (const r of [pretrain, pretrained, scratch]) {
    const last = r.checkpoints.at(-1);
    if (last)
      out(
        terminalSafe(`  ${r.name}: ${last.uri} (${last.models.join(', ')}, ${(last.bytes / 1024).toFixed(0)} KiB)`) +
          '\n',
      );
  }
}

function out(text: string): void {
  process.stdout.write(text);
}

main().catch((err) => {
  process.stderr.write(
    `\ndemo failed: ${terminalSafe(err instanceof Error ? err.message : String(err), { multiline: true })}\n`,
  );
  process.exit(err instanceof DemoError ? err.exitCode : 1);
});
