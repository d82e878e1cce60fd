import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardClient } from '@trainyard/cli-app';
import { Cluster } from '../e2e/cluster';
import { runExperiment } from './pretraining-run';
import { ARMS, parseSettings, RECIPES } from './pretraining-settings';

/**
 * `npm run experiment:pretraining -- --tiny` end to end against a real API and worker (Redis,
 * PostgreSQL, S3): every run of the design, at toy sizes, submitted and read back over HTTP, and
 * the report and plot written where --out says (never docs/ here).
 */
describe('the pretraining experiment, --tiny (real API and worker processes)', () => {
  let cluster: Cluster;
  let out: string;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'trainyard-experiment-'));
    cluster = await Cluster.start({ WORKER_CONCURRENCY: '2', WORKER_MAX_ATTEMPTS: '1' });
    await cluster.startWorker();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('runs every arm, label count and seed, and reports them with intervals', async () => {
    const settings = parseSettings(['--tiny', '--out', out]);
    const lines: string[] = [];
    const started = Date.now();
    const { pretrains, finetunes, reportPath } = await runExperiment(
      new TrainyardClient(cluster.baseUrl, cluster.adminKey),
      settings,
      (line) => lines.push(line),
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`--tiny experiment: ${pretrains.length + finetunes.length} runs in ${seconds.toFixed(1)} s\n`);

    expect(pretrains.map((p) => [p.recipe, p.seed, p.status])).toEqual(
      RECIPES.flatMap((recipe) => settings.seeds.map((seed) => [recipe, seed, 'SUCCEEDED'])),
    );
    expect(finetunes).toHaveLength(settings.seeds.length * settings.labels.length * ARMS.length);
    for (const f of finetunes) {
      expect({ run: `${f.arm}/${f.labels}/${f.seed}`, status: f.status, reason: f.failureReason }).toEqual({
        run: `${f.arm}/${f.labels}/${f.seed}`,
        status: 'SUCCEEDED',
        reason: null,
      });
      expect(f.lastAccuracy).toBeGreaterThanOrEqual(0);
      expect(f.lastAccuracy).toBeLessThanOrEqual(1);
    }
    // Every run trained the budget of its label count, whatever its arm.
    for (const f of finetunes) {
      const run = await new TrainyardClient(cluster.baseUrl, cluster.adminKey).run(f.id);
      expect(run.progress?.totalSteps).toBe(settings.finetuneSteps[String(f.labels)]);
    }
    const report = readFileSync(reportPath, 'utf8');
    expect(reportPath.startsWith(out)).toBe(true);
    for (const arm of ARMS)
      expect(report).toMatch(new RegExp(`\\| 10 \\| ${arm} \\| 8 \\| \\d\\.\\d{3} ± \\d\\.\\d{3} \\|`));
    expect(statSync(join(out, 'pretraining.png')).size).toBeGreaterThan(1000);
    expect(lines.at(-1)).toMatch(/wrote .*pretraining\.md/);
  }, 180_000);
});
