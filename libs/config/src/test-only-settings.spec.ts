import { TEST_ONLY_SETTINGS, testOnlySetting } from './test-only-settings';

describe('testOnlySetting', () => {
  const name = TEST_ONLY_SETTINGS.fakeTfjsNodeGpu;

  it('is read only under NODE_ENV=test', () => {
    expect(testOnlySetting('fakeTfjsNodeGpu', { NODE_ENV: 'test', [name]: '1' })).toBe('1');
    expect(testOnlySetting('fakeTfjsNodeGpu', { NODE_ENV: 'production', [name]: '1' })).toBeUndefined();
    expect(testOnlySetting('fakeTfjsNodeGpu', { [name]: '1' })).toBeUndefined();
    expect(testOnlySetting('fakeTfjsNodeGpu', { NODE_ENV: 'test', [name]: '' })).toBeUndefined();
  });
});
