/** The loss (or the weights) became NaN or infinite: retrying the same spec would diverge again. */
export class DivergedError extends Error {
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly loss: number,
    /** What was seen instead of a non-finite loss, e.g. 'non-finite weights' under a finite, clipped loss. */
    detail?: string,
  ) {
    super(`Training diverged at epoch ${epoch}, step ${step} (${detail ?? `loss ${loss}`}); try a lower learning rate`);
    this.name = 'DivergedError';
  }
}
