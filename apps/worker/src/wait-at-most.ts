/**
 * Waits for `promise` to settle, but no longer than `ms`: true if it settled in time, false at the
 * deadline (it goes on; whatever it does later is its own). Never rejects.
 */
export function waitAtMost(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
}
