export class CorruptCheckpointError extends Error {
  constructor(
    /** Checkpoint folder uri, e.g. s3://trainyard/runs/<runId>/checkpoints/3/ */
    readonly uri: string,
    /** Path relative to the checkpoint folder, e.g. `model/weights.bin` or `manifest.json`. */
    readonly file: string,
    readonly reason: string,
  ) {
    super(`Corrupt checkpoint ${uri}: ${file}: ${reason}`);
    this.name = 'CorruptCheckpointError';
  }
}
