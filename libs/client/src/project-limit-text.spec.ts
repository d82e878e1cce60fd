import { defaultLimitText, projectLimitText } from './project-limit-text';

describe('project limit wording', () => {
  it("says the project's own limit first, then the default, then that nothing holds it", () => {
    expect(projectLimitText({ maxRunning: 3, defaultMaxRunning: 1, workersMaxRunning: [1] })).toBe(
      '3 runs at once (its own limit)',
    );
    expect(projectLimitText({ maxRunning: 1, defaultMaxRunning: null, workersMaxRunning: [] })).toBe(
      '1 run at once (its own limit)',
    );
    expect(projectLimitText({ maxRunning: null, defaultMaxRunning: 2, workersMaxRunning: [2] })).toBe(
      'the default: 2 runs at once',
    );
    expect(projectLimitText({ maxRunning: null, defaultMaxRunning: null, workersMaxRunning: [null] })).toBe('no limit');
  });

  it('says when the live workers disagree with each other or with the API', () => {
    expect(defaultLimitText({ defaultMaxRunning: null, workersMaxRunning: [3, 5, null] })).toBe(
      'none agreed: the live workers disagree (PROJECT_MAX_RUNNING 3, 5, none)',
    );
    expect(defaultLimitText({ defaultMaxRunning: 2, workersMaxRunning: [2, 4] })).toBe(
      '2 runs at once: the live workers disagree (PROJECT_MAX_RUNNING 2, 4)',
    );
    expect(defaultLimitText({ defaultMaxRunning: 2, workersMaxRunning: [3] })).toBe(
      '2 runs at once on the API, 3 runs at once on the live workers',
    );
    expect(defaultLimitText({ defaultMaxRunning: 2, workersMaxRunning: [null] })).toBe(
      '2 runs at once on the API, none on the live workers',
    );
    // No live worker: only the API's word.
    expect(defaultLimitText({ defaultMaxRunning: 2, workersMaxRunning: [] })).toBe('2 runs at once');
    expect(projectLimitText({ maxRunning: null, defaultMaxRunning: null, workersMaxRunning: [1, null] })).toBe(
      'the default: none agreed: the live workers disagree (PROJECT_MAX_RUNNING 1, none)',
    );
  });
});
