import { buffer } from 'node:stream/consumers';
import { pack, type Header } from 'tar-stream';

/** A tar holding `entries` in order: a Buffer is a file of that content, a header (a link, a folder) is written as is. */
export async function tarOf(entries: [string, Buffer | Partial<Omit<Header, 'name'>>][]): Promise<Buffer> {
  const tar = pack();
  const done = buffer(tar);
  for (const [name, entry] of entries) {
    if (Buffer.isBuffer(entry)) tar.entry({ name }, entry);
    else tar.entry({ name, ...entry });
  }
  tar.finalize();
  return done;
}
