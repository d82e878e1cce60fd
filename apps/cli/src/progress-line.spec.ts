import { displayWidth } from './display-width';
import { formatDuration, formatProgress, formatTable } from './progress-line';

describe('progress line', () => {
  it('shows epoch, step, loss, throughput and ETA', () => {
    const line = formatProgress('pretrain', 'RUNNING', {
      phase: 'training',
      epoch: 2,
      epochs: 5,
      step: 130,
      stepsPerEpoch: 100,
      loss: 0.012345,
      imagesPerSec: 612.4,
      etaSeconds: 95,
      updatedAt: new Date().toISOString(),
    });
    expect(line).toBe('pretrain  training  epoch 2/5  step 130  loss 0.0123  612 img/s  ETA 1m35s');
  });

  it('shows the status until the worker reports progress', () => {
    expect(formatProgress('scratch', 'QUEUED', null)).toBe('scratch  queued');
  });

  it('formats durations and tables', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(Number.NaN)).toBe('?');
    expect(formatTable(['a', 'bb'], [['xyz', '1']]).split('\n')).toEqual(['a    bb', '---  --', 'xyz  1 ']);
  });

  it('escapes table cells from the API and measures the columns on what is printed', () => {
    const rows = [
      ['cat\u200b\u200b\u200b', '1'],
      ['\u001b]8;;https://evil\u0007dog', '2'],
      ['bird\u202e', '3'],
      ['fish\r\n', '4'],
    ];
    const lines = formatTable(['class', 'n'], rows).split('\n');
    const widest = '\\u001b]8;;https://evil\\u0007dog';
    expect(lines.slice(2)).toEqual(
      ['cat\\u200b\\u200b\\u200b', widest, 'bird\\u202e', 'fish\\u000d\\u000a'].map(
        (name, i) => `${name.padEnd(widest.length)}  ${i + 1}`,
      ),
    );
    // Every row as long as the header, the second column at one offset.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('aligns columns of CJK and emoji names by the columns they take on a terminal', () => {
    const lines = formatTable(
      ['class', 'n'],
      [
        ['cat', '1'],
        ['猫の画像', '2'],
        ['🐈‍⬛ black cat', '3'],
      ],
    ).split('\n');
    // The second column starts at one terminal column on every row.
    const at = lines.map((l) => displayWidth(l.slice(0, l.lastIndexOf('  ') + 2)));
    expect(new Set(at).size).toBe(1);
    expect(lines[1]).toBe(`${'-'.repeat(displayWidth('🐈‍⬛ black cat'))}  -`);
  });
});
