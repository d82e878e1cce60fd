import { BodySizeMismatchError } from './body-size-mismatch.error';
import { chunksOfSize, partsOf } from './sized-body';

async function* chunks(...sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const size of sizes) {
    yield Uint8Array.from({ length: size }, (_, i) => (at + i) % 251);
    at += size;
  }
}

/** Copied as they come: a part's buffer is filled again for the next one. */
async function collect(items: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const item of items) all.push(Buffer.from(item));
  return all;
}

describe('streamed bodies of a known size', () => {
  it('cuts a body into parts of exactly the part size, the last one shorter, whatever its chunks', async () => {
    const parts = await collect(partsOf(chunks(3, 7, 1, 9, 5), 25, 10, 'k'));
    expect(parts.map((p) => p.length)).toEqual([10, 10, 5]);
    // The bytes in order, none lost or repeated across chunk and part boundaries.
    expect([...Buffer.concat(parts)]).toEqual(Array.from({ length: 25 }, (_, i) => i % 251));
  });

  it('fills one buffer again for each part, so a stream holds one part of memory however many it sends', async () => {
    const buffers = new Set<ArrayBufferLike>();
    // Parts past Buffer's pool size (4 KiB), so that each would be a buffer of its own if allocated anew.
    for await (const part of partsOf(chunks(6000, 6000, 6000, 6000), 24_000, 10_000, 'k')) buffers.add(part.buffer);
    expect(buffers.size).toBe(1);
  });

  it('gives one part for a body no larger than a part, and none for an empty one', async () => {
    expect((await collect(partsOf(chunks(4, 6), 10, 10, 'k'))).map((p) => p.length)).toEqual([10]);
    expect(await collect(partsOf(chunks(), 0, 10, 'k'))).toEqual([]);
  });

  it('refuses a body that ends short of its size, or runs past it as soon as it does', async () => {
    await expect(collect(partsOf(chunks(4, 4), 10, 4, 'cat/1.png'))).rejects.toThrow(
      new BodySizeMismatchError('cat/1.png', 10, 8),
    );
    let pulled = 0;
    const endless = (async function* () {
      for (;;) {
        pulled++;
        yield new Uint8Array(4);
      }
    })();
    await expect(collect(chunksOfSize(endless, 10, 'cat/1.png'))).rejects.toThrow(
      /holds more than the 10 bytes it was given/,
    );
    expect(pulled).toBe(3);
  });
});
