import { ServiceUnavailableException } from '@nestjs/common';

/** Rejects with `message` when `work` has not settled within `ms`; the timer never outlives the race. */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work` that needs Redis, under the API's Redis deadline: when Redis fails or does not answer in
 * time, a 503 saying what is `unavailable`, naming Redis and why.
 */
export async function fromRedis<T>(work: Promise<T>, deadlineMs: number, unavailable: string): Promise<T> {
  try {
    return await withDeadline(work, deadlineMs, `no answer within ${deadlineMs} ms`);
  } catch (err) {
    throw new ServiceUnavailableException(`${unavailable}: Redis: ${(err as Error).message}`);
  }
}
