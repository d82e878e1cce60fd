import { makeContext } from './command';

function context(env: Record<string, string>) {
  let stdout = '';
  const ctx = makeContext({}, [], {
    out: (t) => (stdout += t),
    err: () => undefined,
    stdoutIsTty: true,
    env,
    signal: new AbortController().signal,
  });
  return { ctx, stdout: () => stdout };
}

describe('a command context on a terminal', () => {
  it('redraws a line with a carriage return and spaces over the longer one before on a dumb terminal', () => {
    const { ctx, stdout } = context({ TERM: 'dumb' });
    ctx.redraw('epoch 1  猫');
    ctx.redraw('epoch 2');
    ctx.endLine();
    ctx.redraw('done');
    expect(stdout()).toBe('\repoch 1  猫\repoch 2    \n\rdone');
  });

  it('clears the line with an escape sequence elsewhere, and ends an open line once', () => {
    const { ctx, stdout } = context({ TERM: 'xterm-256color' });
    ctx.redraw('epoch 1');
    ctx.endLine();
    ctx.endLine();
    expect(stdout()).toBe('\r\x1b[2Kepoch 1\n');
  });
});
