/**
 * Where a run's files other than checkpoints live in the store. Shared by the training thread
 * that writes them and the API that serves them (which may not import the training library).
 */
export function augmentationSampleKey(runId: string): string {
  return `runs/${runId}/augmentation.png`;
}
