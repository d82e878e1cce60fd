import { metricGoal } from './metric-goal';

describe('metricGoal', () => {
  it.each([
    ['loss', 'min'],
    ['val_loss', 'min'],
    ['mse', 'min'],
    ['reconstruction_MSE', 'min'],
    ['error_rate', 'min'],
    ['accuracy', 'max'],
    ['val_f1', 'max'],
    ['precision', 'max'],
  ])('%s -> %s', (name, goal) => {
    expect(metricGoal(name)).toBe(goal);
  });
});
