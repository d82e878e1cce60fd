/** What holds a project without a limit of its own, and what the live workers say about it. */
export interface FleetDefaultLimit {
  defaultMaxRunning: number | null;
  workersMaxRunning: (number | null)[];
}

/**
 * The default of projects without a limit of their own: the API's PROJECT_MAX_RUNNING when it has
 * one, else the value every live worker applies; null when no worker limits or they disagree.
 */
export function fleetDefaultMaxRunning(
  apiSetting: number | undefined,
  workersMaxRunning: readonly (number | null)[],
): number | null {
  if (apiSetting !== undefined) return apiSetting;
  return workersMaxRunning.length === 1 ? workersMaxRunning[0]! : null;
}
