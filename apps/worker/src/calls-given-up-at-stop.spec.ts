import { CallsGivenUpAtStop } from './calls-given-up-at-stop';

const never = () => new Promise<never>(() => undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CallsGivenUpAtStop', () => {
  it('gives up a call in flight afterMs past the stop, not before the stop', async () => {
    const calls = new CallsGivenUpAtStop();
    const givenUp = jest.fn();
    calls.watch(never(), () => 20, givenUp);
    await sleep(60);
    expect(givenUp).not.toHaveBeenCalled();
    calls.stop();
    await sleep(5);
    expect(givenUp).not.toHaveBeenCalled();
    await sleep(60);
    expect(givenUp).toHaveBeenCalledTimes(1);
  });

  it('starts the clock of a call begun after the stop at its start', async () => {
    const calls = new CallsGivenUpAtStop();
    calls.stop();
    calls.stop();
    const givenUp = jest.fn();
    calls.watch(never(), () => 20, givenUp);
    await sleep(60);
    expect(givenUp).toHaveBeenCalledTimes(1);
  });

  it('gives up at once a call begun after the stop with no time left (afterMs at or below 0)', async () => {
    const calls = new CallsGivenUpAtStop();
    calls.stop();
    const givenUp = jest.fn();
    calls.watch(never(), () => -50, givenUp);
    expect(givenUp).not.toHaveBeenCalled(); // on the next turn of the event loop, not within watch()
    await sleep(5);
    expect(givenUp).toHaveBeenCalledTimes(1);
  });

  it('leaves a call that settles in time, answered or failed, alone', async () => {
    const calls = new CallsGivenUpAtStop();
    const givenUp = jest.fn();
    calls.watch(sleep(5), () => 30, givenUp);
    calls.watch(
      sleep(5).then(() => Promise.reject(new Error('refused'))),
      () => 30,
      givenUp,
    );
    calls.stop();
    await sleep(80);
    expect(givenUp).not.toHaveBeenCalled();
  });
});
