import { inSubmitTurn, SubmitsBusyError } from './submit-turns';

/** A submit that runs until `finish()` is called, noting when it started. */
function heldSubmit(log: string[], name: string) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  return {
    finish,
    run: async () => {
      log.push(`start ${name}`);
      await finished;
      log.push(`end ${name}`);
      return name;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('inSubmitTurn', () => {
  it("runs one project's submits one at a time in the order they came, other projects' beside them", async () => {
    const log: string[] = [];
    const [a1, a2, a3, b1] = ['a1', 'a2', 'a3', 'b1'].map((name) => heldSubmit(log, name));
    const results = [
      inSubmitTurn('a', a1!.run),
      inSubmitTurn('a', a2!.run),
      inSubmitTurn('a', a3!.run),
      inSubmitTurn('b', b1!.run),
    ];
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    a3!.finish();
    a2!.finish();
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    a1!.finish();
    b1!.finish();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(log.filter((line) => / a\d$/.test(line))).toEqual([
      'start a1',
      'end a1',
      'start a2',
      'end a2',
      'start a3',
      'end a3',
    ]);
  });

  it('goes on after a submit that threw', async () => {
    const failed = inSubmitTurn('c', () => Promise.reject(new Error('refused')));
    const next = inSubmitTurn('c', async () => 'next');
    await expect(failed).rejects.toThrow('refused');
    expect(await next).toBe('next');
  });

  it('gives up a turn not given in time, without letting the ones behind it past the one still running', async () => {
    const log: string[] = [];
    const slow = heldSubmit(log, 'slow');
    const first = inSubmitTurn('d', slow.run, 50);
    const late = inSubmitTurn('d', async () => log.push('late ran'), 50);
    const after = inSubmitTurn('d', async () => (log.push('after ran'), 'after'), 5_000);
    await expect(late).rejects.toBeInstanceOf(SubmitsBusyError);
    await expect(late).rejects.toThrow('Too many submits of project d are waiting for their turn; try again shortly');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log).toEqual(['start slow']);
    slow.finish();
    expect(await first).toBe('slow');
    expect(await after).toBe('after');
    expect(log).toEqual(['start slow', 'end slow', 'after ran']);
  });
});
