// `npm run chaos`: a bounded soak on loopback. Workers are killed (-9) and terminated, and
// training processes killed (-9), at random times, Redis is restarted once and frozen once, the
// object store taken down once, and afterwards every run must be terminal (SUCCEEDED), with
// exactly-once metrics, summaries that agree with their points, verified final checkpoints, and
// no project ever training more runs at once than its limit.
// Exit code 1 when any check fails. Flags: see chaos-options.ts (--runs, --workers, --duration,
// --seed, --fault-every, --no-redis-restart).
import { parseChaosArgs } from './chaos-options';
import { runChaos, type ChaosReport } from './chaos-soak';

export function tally(report: ChaosReport): string {
  const { verdict: v, faults } = report;
  return [
    `runs: ${report.runs} (${
      Object.entries(v.terminal)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ') || 'none terminal'
    })`,
    `faults injected: ${faults['kill -9']} worker kill -9, ${faults.SIGTERM} worker SIGTERM, ${faults['child kill -9']} training process kill -9, ${faults['redis restart']} Redis restart, ${faults['redis freeze']} Redis freeze, ${faults['store outage']} object store outage`,
    `resumes (runs with attempts > 1): ${v.resumed}; jobs found stalled and handed out again: ${report.stalledJobs}`,
    `jobs parked at PROJECT_MAX_RUNNING=1 (two projects): ${report.parked}; parked jobs let back in line as a run ended: ${report.released}; spans over a project's limit: ${v.overLimit.length}`,
    `runs lost: ${v.lost.length}`,
    `duplicated (run, metric, step): ${v.duplicatedSteps}; summary mismatches: ${v.summaryMismatches.length}; unverified final checkpoints: ${v.unverifiedFinals.length}`,
    `wall time: ${report.wallS.toFixed(0)} s (${report.options.workers} workers, seed ${report.options.seed})`,
    report.failed.length ? `FAILED checks:\n  ${report.failed.join('\n  ')}` : 'all checks passed',
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseChaosArgs(process.argv.slice(2));
  const report = await runChaos(options, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`\n${tally(report)}\n`);
  // Explicit: a closed client's timer must not keep the soak's verdict waiting.
  process.exit(report.failed.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
