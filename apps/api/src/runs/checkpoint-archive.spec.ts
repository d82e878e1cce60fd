import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { archiveOrder, streamTar, tarLength, type ArchivedFile } from './checkpoint-archive';

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Every entry of a tar: its name, type and bytes. */
async function entries(tar: Buffer): Promise<{ name: string; type: string; body: Buffer }[]> {
  const out: { name: string; type: string; body: Buffer }[] = [];
  const reader = extract();
  const done = (async () => {
    for await (const entry of reader)
      out.push({ name: entry.header.name, type: String(entry.header.type), body: await collect(entry) });
  })();
  reader.end(tar);
  await done;
  return out;
}

describe('checkpoint archive (tar, streamed)', () => {
  const contents: Record<string, Buffer> = {
    'classifier/model.json': Buffer.from('{"format":"layers-model"}'),
    'classifier/weights.bin': randomBytes(3 * 1024 * 1024 + 7),
    'manifest.json': Buffer.from('{"files":{}}'),
    'encoder/weights.bin': Buffer.alloc(0),
  };
  const files: ArchivedFile[] = Object.entries(contents).map(([file, body]) => ({ file, bytes: body.length }));
  // Chunks of 64 KiB, as a store's stream delivers them.
  const open = async (file: string) => Readable.from(chunks(contents[file]!));
  function* chunks(body: Buffer) {
    for (let at = 0; at < body.length; at += 65536) yield body.subarray(at, at + 65536);
  }

  it('puts the manifest first, then the files by name', () => {
    expect(archiveOrder(files).map((f) => f.file)).toEqual([
      'manifest.json',
      'classifier/model.json',
      'classifier/weights.bin',
      'encoder/weights.bin',
    ]);
  });

  it('writes every file under one folder, byte for byte, in exactly the length it announces', async () => {
    const ordered = archiveOrder(files);
    const tar = await collect(streamTar('abcd1234-ckpt3', ordered, open));
    expect(tar.length).toBe(tarLength('abcd1234-ckpt3', ordered));
    const read = await entries(tar);
    expect(read.map((e) => e.name)).toEqual(ordered.map((f) => `abcd1234-ckpt3/${f.file}`));
    for (const entry of read) {
      const file = entry.name.slice('abcd1234-ckpt3/'.length);
      expect(entry.type).toBe('file');
      expect(createHash('sha256').update(entry.body).digest('hex')).toBe(
        createHash('sha256').update(contents[file]!).digest('hex'),
      );
    }
  });

  it('has no announced length when a name needs more than a plain header', () => {
    expect(tarLength('x', [{ file: `${'a'.repeat(120)}.bin`, bytes: 1 }])).toBeNull();
  });

  it('fails the archive when a file delivers other than its listed size', async () => {
    const short = [{ file: 'manifest.json', bytes: contents['manifest.json']!.length + 10 }];
    await expect(collect(streamTar('x', short, open))).rejects.toThrow();
  });

  it('stops opening files once the reader goes away', async () => {
    const opened: string[] = [];
    const pack = streamTar('x', archiveOrder(files), async (file) => (opened.push(file), open(file)));
    for await (const _chunk of pack) break; // the first chunk, then the reader leaves
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(opened.length).toBeLessThan(files.length);
  });

  it('leaves no rejection unhandled when the client goes in the middle of a file', async () => {
    // Before, the entry's promise rejected with nothing awaiting it once the reader had gone: an
    // unhandled rejection, which ended the API process (one closed download took the API down).
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      let taken = 0;
      // A client that takes two chunks, then closes its connection, as the HTTP response does.
      const client: Writable = new Writable({
        highWaterMark: 1,
        write(_chunk, _encoding, callback) {
          if (++taken === 2) setImmediate(() => client.destroy());
          else callback();
        },
      });
      const sent = pipeline(Readable.from(streamTar('x', archiveOrder(files), open)), client);
      await expect(sent).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
