// `npm run experiment:pretraining`: does a conv autoencoder pretrained on unlabeled MNIST digits
// help a classifier trained on few labels? Everything goes through the HTTP API, like any client.
// The design (labels per class 1 to 1,000, ≥ 3 seeds, four arms, equal step budgets) is in
// pretraining-settings.ts; `--tiny` runs it at toy sizes as a smoke test (about a minute). Writes
// pretraining.md (keeping its hand-written part) and its PNG plot into --out (docs/experiments).
import { openApiSession } from './api-session';
import { runExperiment } from './pretraining-run';
import { parseSettings } from './pretraining-settings';

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const session = await openApiSession({
    workerConcurrency: settings.workerConcurrency,
    home: settings.tiny ? '.trainyard/experiment-pretraining-tiny' : '.trainyard/experiment-pretraining',
  });
  try {
    log(
      `API ${session.client.baseUrl}${session.logPath ? ` (embedded server, log ${session.logPath})` : ''}; settings ${JSON.stringify(settings)}`,
    );
    await runExperiment(session.client, settings, log);
  } finally {
    session.close();
  }
}

function log(line: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`\nexperiment failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
