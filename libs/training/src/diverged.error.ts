/** The loss became NaN or infinite: retrying the same spec would diverge again. */
export class DivergedError extends Error {
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly loss: number,
  ) {
    super(`Training diverged at epoch ${epoch}, step ${step} (loss ${loss}); try a lower learning rate`);
    this.name = 'DivergedError';
  }
}
