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

  it('takes the shapes a run can train at (sides 8 to 512, 1 or 3 channels) and folders of its own', () => {
    for (const shape of ['8x8x1', '512x512x3', '32x48x3'])
      expect(parsePackArgs(['--prefix', 'p/', '--decode-to', shape])).toMatchObject({
        decodeTo: { imageShape: shape.split('x').map(Number) },
      });
    // Normalized as the API normalizes location.prefix.
    expect(parsePackArgs(['--prefix', 'datasets/flowers'])).toMatchObject({
      source: { kind: 'prefix', prefix: 'datasets/flowers/' },
    });
  });

  it.each([
    ['32x32x4', /--decode-to 32x32x4: channels: Expected 1 \(grey\) or 3 \(RGB\)/],
    ['32x32x2', /--decode-to 32x32x2: channels: Expected 1 \(grey\) or 3 \(RGB\)/],
    ['32x2', /--decode-to: expected HEIGHTxWIDTHxCHANNELS, e.g. 224x224x3 \(got "32x2"\)/],
    ['4x4x3', /--decode-to 4x4x3: height: .*>=8; width: .*>=8 \(the shape a run's dataset.imageShape can take/],
    ['1000x8x3', /--decode-to 1000x8x3: height: .*<=512/],
    ['8x513x1', /--decode-to 8x513x1: width: .*<=512/],
  ])('refuses --decode-to %s naming the flag and the bound', (shape, message) => {
    expect(() => parsePackArgs(['--prefix', 'p/', '--decode-to', shape])).toThrow(UsageError);
    expect(() => parsePackArgs(['--prefix', 'p/', '--decode-to', shape])).toThrow(message);
  });

  it.each([
    'datasets/uploads/',
    'datasets/uploads',
    'DATASETS/Uploads/',
    'datasets/',
    'datasets/packed/x/',
    'runs/',
    '',
  ])('refuses --prefix %j, a folder Trainyard keeps for every project (as the API does)', (prefix) => {
    expect(() => parsePackArgs(['--prefix', prefix])).toThrow(UsageError);
    expect(() => parsePackArgs(['--prefix', prefix])).toThrow(
      prefix === ''
        ? /--prefix: empty/
        : /^--prefix .*: expected a folder of your own: it is in or holds (runs|datasets)\//,
    );
  });

  it.each([
    [['--prefix', 'p/', '--bogus'], /'--bogus'/],
    [['--prefix'], /'--prefix/],
    [[], /name what to pack/],
    [['id', '--prefix', 'p/'], /not dataset id "id" and --prefix/],
    [['--prefix', 'p/', '--decode-to', '224x224x5'], /--decode-to 224x224x5: channels/],
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
