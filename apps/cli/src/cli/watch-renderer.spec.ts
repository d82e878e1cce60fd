import type { RunProgress } from '@trainyard/contracts';
import { rawControlCharacters } from '../testing/scripted-api';
import { fractionDone, progressBar, WatchRenderer } from './watch-renderer';

const progress = (epoch: number, step: number, loss = 0.5): RunProgress => ({
  phase: 'training',
  epoch,
  epochs: 4,
  step,
  stepsPerEpoch: 10,
  loss,
  etaSeconds: 75,
  updatedAt: '2026-01-01T00:00:00Z',
});

function capture(tty: boolean) {
  let text = '';
  // redraw as CommandContext.redraw draws it: the one terminal code the CLI sends.
  const out = { write: (t: string) => (text += t), redraw: (line: string) => (text += `\r\x1b[2K${line}`) };
  return { renderer: new WatchRenderer(out, tty), text: () => text };
}

describe('watch renderer', () => {
  it('draws a bar from the steps done', () => {
    expect(fractionDone(progress(2, 20))).toBe(0.5);
    // A steps budget ending inside its 4th epoch: 25 steps in all, not 4 × 10.
    expect(fractionDone({ ...progress(2, 20), totalSteps: 25 })).toBe(0.8);
    expect(progressBar(0.5, 10)).toBe('[#####.....]  50%');
  });

  it('redraws one line in place on a terminal', () => {
    const { renderer, text } = capture(true);
    renderer.progress(progress(1, 5, 0.9));
    renderer.progress(progress(1, 6, 0.8));
    renderer.status('r1', 'SUCCEEDED', null);
    expect(text()).toBe(
      '\r\x1b[2Ktraining       [###.....................]  12%  epoch 1/4  loss 0.9000  ETA 1m15s' +
        '\r\x1b[2Ktraining       [####....................]  15%  epoch 1/4  loss 0.8000  ETA 1m15s' +
        '\nrun r1 SUCCEEDED\n',
    );
  });

  it('prints plain lines, one per epoch, without escape codes when not a terminal', () => {
    const { renderer, text } = capture(false);
    renderer.status('r1', 'RUNNING', null);
    for (const step of [1, 5, 9]) renderer.progress(progress(1, step));
    renderer.progress(progress(2, 11, 0.25));
    renderer.status('r1', 'FAILED', 'out of memory');
    const lines = text().split('\n');
    expect(text()).not.toContain('\x1b');
    expect(lines).toEqual([
      'run r1 RUNNING',
      'training       [#.......................]   2%  epoch 1/4  loss 0.5000  ETA 1m15s',
      'training       [#######.................]  27%  epoch 2/4  loss 0.2500  ETA 1m15s',
      'run r1 FAILED: out of memory',
      '',
    ]);
  });

  it('redraws where a waiting run stands in place on a terminal, and prints it only when it changed otherwise', () => {
    const tty = capture(true);
    tty.renderer.status('r1', 'QUEUED', null);
    tty.renderer.waiting('waiting: 2 jobs ahead');
    tty.renderer.waiting('waiting: next in line');
    tty.renderer.status('r1', 'RUNNING', null);
    expect(tty.text()).toBe(
      'run r1 QUEUED\n\r\x1b[2K  waiting: 2 jobs ahead\r\x1b[2K  waiting: next in line\nrun r1 RUNNING\n',
    );

    const plain = capture(false);
    plain.renderer.status('r1', 'QUEUED', null);
    for (const text of ['waiting: 2 jobs ahead', 'waiting: 2 jobs ahead', 'waiting: next in line'])
      plain.renderer.waiting(text);
    plain.renderer.status('r1', 'PREEMPTED', null);
    plain.renderer.waiting('waiting: next in line');
    expect(plain.text().split('\n')).toEqual([
      'run r1 QUEUED',
      '  waiting: 2 jobs ahead',
      '  waiting: next in line',
      'run r1 PREEMPTED',
      '  waiting: next in line',
      '',
    ]);
  });

  it("shows a failure reason, a phase and a queue's words escaped, on one line each, never as terminal codes", () => {
    const reason = 'out of memory\u001b]52;c;cm0gLXJmIH4K\u0007\rrun r1 SUCCEEDED\n\u009b2J\u202eyrrow on';
    const hostile = { ...progress(1, 5), phase: 'training\u001b]8;;https://evil\u0007' } as unknown as RunProgress;
    for (const tty of [false, true]) {
      const { renderer, text } = capture(tty);
      renderer.progress(hostile);
      renderer.waiting('waiting: project \u200bvision\r');
      renderer.status('r1', 'FAILED', reason);
      // On a terminal the redraw's own CR and ESC are the only ones: each line drawn after them is safe.
      const drawn = tty ? text().split('\r\x1b[2K').join('') : text();
      expect(rawControlCharacters(drawn)).toEqual([]);
      expect(drawn).toContain('training\\u001b]8;;https://evil\\u0007  [');
      expect(drawn).toContain('waiting: project \\u200bvision\\u000d');
      expect(drawn.split('\n').filter(Boolean).at(-1)).toBe(
        'run r1 FAILED: out of memory\\u001b]52;c;cm0gLXJmIH4K\\u0007\\u000drun r1 SUCCEEDED\\u000a\\u009b2J\\u202eyrrow on',
      );
    }
  });
});
