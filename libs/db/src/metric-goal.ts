/** One rule for whether a metric is better lower or higher: the contracts' (training uses it too). */
export { metricGoal, type MetricGoal } from '@trainyard/contracts';
