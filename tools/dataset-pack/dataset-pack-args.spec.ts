import { HELP, parsePackArgs, UsageError } from './dataset-pack-args';
import { PackProgress } from './pack-progress';

describe('parsePackArgs', () => {
  it('reads one source and the options', () => {
    expect(parsePackArgs(['0b3c5f3e-9a59-4c1e-8d67-1f1f2b3c4d5e'])).toEqual({
      source: { kind: 'dataset', id: '0b3c5f3e-9a59-4c1e-8d67-1f1f2b3c4d5e' },
      decodeTo: undefined,
      shardBytes: undefined,
      json: false,
    });
    expect(
      parsePackArgs([
        '--path',
        '/data/f',
        '--decode-to',
        '224x224x3',
        '--fit',
        'contain',
        '--shard-mb',
        '0.5',
        '--json',
      ]),
    ).toEqual({
      source: { kind: 'path', path: '/data/f' },
      decodeTo: { imageShape: [224, 224, 3], fit: 'contain' },
      shardBytes: 2 ** 19,
      json: true,
    });
    expect(parsePackArgs(['--prefix', 'datasets/f/', '--decode-to', '32x32x1'])).toMatchObject({
      source: { kind: 'prefix', prefix: 'datasets/f/' },
      decodeTo: { imageShape: [32, 32, 1], fit: 'cover' },
    });
    expect(parsePackArgs(['-h'])).toBe(HELP);
  });

  it.each([
    [['--prefix', 'p/', '--bogus'], /'--bogus'/],
    [['--prefix'], /'--prefix/],
    [[], /name what to pack/],
    [['id', '--prefix', 'p/'], /not dataset id "id" and --prefix/],
    [['--prefix', 'p/', '--decode-to', '224x224x5'], /--decode-to: .*got "224x224x5"/],
    [['--prefix', 'p/', '--decode-to', '0x224x3'], /--decode-to/],
    [['--prefix', 'p/', '--decode-to', '8x8x3', '--fit', 'stretch'], /--fit: expected cover, contain, fill/],
    [['--prefix', 'p/', '--fit', 'cover'], /--fit: only with --decode-to/],
    [['--prefix', 'p/', '--shard-mb', '0'], /--shard-mb/],
    [['--prefix', 'p/', '--shard-mb', '-1'], /--shard-mb/],
    [['--prefix', 'p/', '--shard-mb', '1e3'], /--shard-mb/],
    [['--path', ' '], /--path: empty/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parsePackArgs(argv)).toThrow(UsageError);
    expect(() => parsePackArgs(argv)).toThrow(message);
  });
});

describe('PackProgress', () => {
  const sink = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, out: { isTTY, write: (text: string) => written.push(text) } };
  };

  it('rewrites one line on a terminal and ends it', () => {
    const { written, out } = sink(true);
    const progress = new PackProgress(out);
    progress.begin(3);
    progress.fileRead();
    progress.fileRead();
    progress.fileRead();
    progress.done();
    expect(written[0]).toBe('\r\x1b[2K1/3 files packed, 0 shards written');
    expect(written.at(-1)).toBe('\r\x1b[2K3/3 files packed, 0 shards written\n');
    expect(written.join('')).not.toMatch(/\n(?!$)/);
  });

  it('prints plain lines otherwise: on a shard written (at most one a second) and the last, never twice', () => {
    const { written, out } = sink(false);
    const progress = new PackProgress(out);
    progress.begin(2);
    progress.fileRead();
    progress.shardWritten();
    progress.fileRead();
    progress.shardWritten(); // within the second: not printed
    progress.done();
    progress.done();
    expect(written).toEqual(['1/2 files packed, 1 shard written\n', '2/2 files packed, 2 shards written\n']);
  });
});
