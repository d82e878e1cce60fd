import { rangeAsked } from './byte-range';

describe('rangeAsked', () => {
  it.each([
    ['bytes=0-99', 1000, { kind: 'range', start: 0, end: 99 }],
    ['bytes=900-', 1000, { kind: 'range', start: 900, end: 999 }],
    ['bytes=900-5000', 1000, { kind: 'range', start: 900, end: 999 }],
    ['bytes=-100', 1000, { kind: 'range', start: 900, end: 999 }],
    ['bytes=-5000', 1000, { kind: 'range', start: 0, end: 999 }],
    ['bytes=999-999', 1000, { kind: 'range', start: 999, end: 999 }],
    // Past any safe integer: clamped to the body, never an offset the store is asked for.
    ['bytes=0-99999999999999999999999', 1000, { kind: 'range', start: 0, end: 999 }],
    ['bytes=-99999999999999999999999', 1000, { kind: 'range', start: 0, end: 999 }],
    [' bytes=0-0 ', 1000, { kind: 'range', start: 0, end: 0 }],
  ])('%s of %d bytes is one range', (header, size, expected) => {
    expect(rangeAsked(header, size)).toEqual(expected);
  });

  it.each([
    [undefined],
    ['items=0-1'],
    ['bytes=0-1,5-6'],
    ['bytes=5-1'],
    ['bytes=-'],
    ['bytes=a-b'],
    ['bytes=1.5-2'],
    ['bytes=1e3-'],
    ['bytes=0x10-'],
    ['bytes=\t1-2,'],
    ['bytes=__proto__-'],
  ])('%s asks for the whole body', (header) => {
    expect(rangeAsked(header, 1000)).toEqual({ kind: 'whole' });
  });

  it.each([
    ['bytes=1000-', 1000],
    ['bytes=5000-6000', 1000],
    ['bytes=-0', 1000],
    ['bytes=0-', 0],
    ['bytes=-10', 0],
    ['bytes=99999999999999999999999-', 1000],
  ])('%s of %d bytes is unsatisfiable', (header, size) => {
    expect(rangeAsked(header, size)).toEqual({ kind: 'unsatisfiable' });
  });
});
