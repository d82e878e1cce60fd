/** A streamed put whose body yielded more or fewer bytes than the size it was given: nothing was stored. */
export class BodySizeMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    /** Bytes seen before the put gave up: past `expected` when the body ran long. */
    readonly received: number,
  ) {
    super(
      received > expected
        ? `The body of ${JSON.stringify(key)} holds more than the ${expected} bytes it was given`
        : `The body of ${JSON.stringify(key)} ended after ${received} of its ${expected} bytes`,
    );
    this.name = 'BodySizeMismatchError';
  }
}
