import { fleetDefaultMaxRunning } from './fleet-default-limit';

describe('fleetDefaultMaxRunning', () => {
  it("takes the API's own setting first, then what every live worker applies, else nothing", () => {
    expect(fleetDefaultMaxRunning(3, [5])).toBe(3);
    expect(fleetDefaultMaxRunning(3, [])).toBe(3);
    expect(fleetDefaultMaxRunning(undefined, [5])).toBe(5);
    // No live worker, workers without a limit, or workers that disagree: nothing to say.
    expect(fleetDefaultMaxRunning(undefined, [])).toBeNull();
    expect(fleetDefaultMaxRunning(undefined, [null])).toBeNull();
    expect(fleetDefaultMaxRunning(undefined, [2, 5])).toBeNull();
    expect(fleetDefaultMaxRunning(undefined, [2, null])).toBeNull();
  });
});
