/** An entry of an uploaded tar, its first bytes read: enough to know what it is before it is stored. */
export interface EntryHead {
  /** At least the `bytes` asked for (a whole chunk or more), or the whole entry when it is shorter. */
  head: Buffer;
  /** Every byte of the entry, `head` first, read on as it is consumed: consume it, or the tar stops. */
  bytes: AsyncIterable<Buffer>;
}

/**
 * Reads the first `bytes` of `entry` (a tar entry's stream) and hands back the rest unread, so an
 * image is judged by its signature and then streamed on to the store, never held whole.
 */
export async function readEntryHead(entry: AsyncIterable<Buffer>, bytes: number): Promise<EntryHead> {
  const reading = entry[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes) {
    const next = await reading.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(chunks, length);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await reading.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, bytes: all() };
}
