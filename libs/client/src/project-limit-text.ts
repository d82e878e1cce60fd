import type { ProjectLimitsView } from '@trainyard/contracts';

/**
 * What holds a project's runs, in a few words: "3 runs at once (its own limit)". One wording for
 * the CLI and the dashboard (browser-safe: no zod).
 */
export function projectLimitText(p: Pick<ProjectLimitsView, 'maxRunning' | 'defaultMaxRunning'>): string {
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'} at once`;
  if (p.maxRunning !== null) return `${runs(p.maxRunning)} (its own limit)`;
  if (p.defaultMaxRunning !== null) return `${runs(p.defaultMaxRunning)} (the default, PROJECT_MAX_RUNNING)`;
  return 'no limit';
}
