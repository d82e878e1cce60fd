import { formatBytes } from './byte-size-text';

describe('formatBytes', () => {
  it('shows a dataset under 1 KiB by its bytes, not as 0 KiB (an upload of a few small images holds bytes)', () => {
    expect(formatBytes(414)).toBe('414 B');
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(2048)).toBe('2 KiB');
  });

  it('goes on in powers of 1,024 up to PiB, the largest quota a project may be given', () => {
    expect(formatBytes(3.4 * 1024 ** 2)).toBe('3.4 MiB');
    expect(formatBytes(50 * 1024 ** 3)).toBe('50.0 GiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2.0 TiB');
    expect(formatBytes(1024 ** 5)).toBe('1.0 PiB');
    expect(formatBytes(2048 * 1024 ** 5)).toBe('2048.0 PiB');
  });
});
