import { projectLimitText } from './project-limit-text';

describe('projectLimitText', () => {
  it("says the project's own limit first, then the default, then that nothing holds it", () => {
    expect(projectLimitText({ maxRunning: 3, defaultMaxRunning: 1 })).toBe('3 runs at once (its own limit)');
    expect(projectLimitText({ maxRunning: 1, defaultMaxRunning: null })).toBe('1 run at once (its own limit)');
    expect(projectLimitText({ maxRunning: null, defaultMaxRunning: 2 })).toBe(
      '2 runs at once (the default, PROJECT_MAX_RUNNING)',
    );
    expect(projectLimitText({ maxRunning: null, defaultMaxRunning: null })).toBe('no limit');
  });
});
