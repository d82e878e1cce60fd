export class ObjectNotFoundError extends Error {
  constructor(
    readonly key: string,
    /** The store's description, so the message says where we looked. */
    readonly store: string,
  ) {
    super(`Object ${JSON.stringify(key)} not found in ${store}`);
    this.name = 'ObjectNotFoundError';
  }
}
