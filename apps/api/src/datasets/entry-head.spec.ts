import { readEntryHead } from './entry-head';

async function* chunks(...texts: string[]): AsyncGenerator<Buffer> {
  for (const text of texts) yield Buffer.from(text);
}

async function text(bytes: AsyncIterable<Buffer>): Promise<string> {
  let all = '';
  for await (const chunk of bytes) all += chunk.toString();
  return all;
}

describe('the head of an upload entry', () => {
  it('reads just the chunks that hold the first bytes, and hands on every byte, the head first', async () => {
    let pulled = 0;
    const source = (async function* () {
      for (const part of ['RIFF', '....', 'WE', 'BPVP8 ', 'rest']) {
        pulled++;
        yield Buffer.from(part);
      }
    })();
    const { head, bytes } = await readEntryHead(source, 12);
    expect(head.toString()).toBe('RIFF....WEBPVP8 ');
    expect(pulled).toBe(4);
    expect(await text(bytes)).toBe('RIFF....WEBPVP8 rest');
  });

  it('is the whole entry when it is shorter than asked, and empty for an empty one', async () => {
    const short = await readEntryHead(chunks('<!', 'DOC'), 12);
    expect(short.head.toString()).toBe('<!DOC');
    expect(await text(short.bytes)).toBe('<!DOC');
    const empty = await readEntryHead(chunks(), 12);
    expect(empty.head.length).toBe(0);
    expect(await text(empty.bytes)).toBe('');
  });

  it('fails reading on as the entry does', async () => {
    const failing = (async function* () {
      yield Buffer.from('\x89PNG\r\n\x1a\n....');
      throw new Error('aborted');
    })();
    const { bytes } = await readEntryHead(failing, 12);
    await expect(text(bytes)).rejects.toThrow('aborted');
  });
});
