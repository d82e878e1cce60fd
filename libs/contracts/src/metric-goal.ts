export type MetricGoal = 'min' | 'max';

/** Lower is better for losses and errors (loss, val_loss, mse, error_rate); higher for the rest. */
export function metricGoal(name: string): MetricGoal {
  const lower = name.toLowerCase();
  return lower.includes('loss') || lower.includes('mse') || lower.includes('error') ? 'min' : 'max';
}
