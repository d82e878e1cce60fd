import type { ProjectLimitsList, ProjectLimitsView } from '@trainyard/contracts';

type FleetDefault = Pick<ProjectLimitsList, 'defaultMaxRunning' | 'workersMaxRunning'>;

const runs = (n: number) => `${n} run${n === 1 ? '' : 's'} at once`;
const setting = (n: number | null) => (n === null ? 'none' : String(n));

/**
 * The default of projects without a limit of their own, in a few words, with what the live
 * workers apply when that is not the same everywhere: "2 runs at once", "none", "none agreed: the
 * live workers disagree (PROJECT_MAX_RUNNING 3, 5, none)". One wording for the CLI and the
 * dashboard (browser-safe: no zod).
 */
export function defaultLimitText({ defaultMaxRunning: d, workersMaxRunning: w }: FleetDefault): string {
  if (w.length > 1)
    return `${d === null ? 'none agreed' : runs(d)}: the live workers disagree (PROJECT_MAX_RUNNING ${w.map(setting).join(', ')})`;
  if (w.length === 1 && w[0] !== d)
    return `${d === null ? 'none' : runs(d)} on the API, ${w[0] === null ? 'none' : runs(w[0]!)} on the live workers`;
  return d === null ? 'none' : runs(d);
}

/** What holds a project's runs: "3 runs at once (its own limit)", "the default: 2 runs at once", "no limit". */
export function projectLimitText(p: Pick<ProjectLimitsView, 'maxRunning'> & FleetDefault): string {
  if (p.maxRunning !== null) return `${runs(p.maxRunning)} (its own limit)`;
  const fleet = defaultLimitText(p);
  return fleet === 'none' ? 'no limit' : `the default: ${fleet}`;
}
