import { GiveBackLines } from './give-back-lines';

describe('GiveBackLines: a give-back line once per run and answer', () => {
  it('says a line once while it stays the same, again when it changes or after the run was taken', () => {
    const lines = new GiveBackLines();
    expect(lines.news('r1', 'given back for w2')).toBe(true);
    expect(lines.news('r1', 'given back for w2')).toBe(false);
    expect(lines.news('r2', 'given back for w2')).toBe(true);
    expect(lines.news('r1', 'given back for w2, w3')).toBe(true);
    expect(lines.news('r1', 'given back for w2, w3')).toBe(false);
    lines.forget('r1');
    expect(lines.news('r1', 'given back for w2, w3')).toBe(true);
  });

  it('remembers a bounded number of runs, forgetting the one given back longest ago', () => {
    const lines = new GiveBackLines(2);
    lines.news('a', 'x');
    lines.news('b', 'x');
    expect(lines.news('a', 'x')).toBe(false); // a, still coming round, is now the most recent
    lines.news('c', 'x'); // b goes
    expect(lines.news('a', 'x')).toBe(false);
    expect(lines.news('c', 'x')).toBe(false);
    expect(lines.news('b', 'x')).toBe(true);
  });
});
