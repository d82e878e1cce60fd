import { parseModelJson } from './model-artifacts';

describe('errors about files that are not JSON', () => {
  it('name the file and where parsing stopped, never its bytes', () => {
    const secret = Buffer.from('root:x:0:0:root:/root:/bin/bash\n');
    let message = '';
    try {
      parseModelJson(secret, 'file:///etc/model.json');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^file:\/\/\/etc\/model\.json is not valid JSON/);
    expect(message).not.toMatch(/root:|bin\/bash/);
    const truncated = (() => {
      try {
        parseModelJson(Buffer.from('{"modelTopology": {"secret": "value'), 'model.json');
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(truncated).toMatch(/not valid JSON/);
    expect(truncated).not.toMatch(/secret|value/);
  });
});
