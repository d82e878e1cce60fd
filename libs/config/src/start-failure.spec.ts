import { registerSecret } from './redact';
import { printStartFailure } from './start-failure';

/** What printStartFailure writes to stderr, one entry per line. */
function printed(fn: () => void): string[] {
  let text = '';
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    fn();
  } finally {
    err.mockRestore();
  }
  return text.split('\n').filter(Boolean);
}

describe('printStartFailure', () => {
  const failure = () => {
    const error = new Error('listen EADDRINUSE: address already in use 127.0.0.1:9464');
    error.stack = `${error.message}\n    at Server.listen (node:net:1:1)\n    at main (main.js:2:2)`;
    return error;
  };

  it('under LOG_JSON is one JSON line of the logger, the stack a field of it', () => {
    const lines = printed(() => printStartFailure('Bootstrap', failure(), false, { LOG_JSON: 'true' }));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'error',
      context: 'Bootstrap',
      message: 'listen EADDRINUSE: address already in use 127.0.0.1:9464',
      stack: expect.stringContaining('at Server.listen'),
    });
  });

  it('under LOG_JSON keeps an explained message to one line, its newlines escaped and secrets redacted', () => {
    registerSecret('s3cr3t-start-failure');
    const error = new Error('Invalid configuration:\n - S3_SECRET_KEY s3cr3t-start-failure is too short');
    const lines = printed(() => printStartFailure('Bootstrap', error, true, { LOG_JSON: '1' }));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { message: string; stack?: string };
    expect(line.message).not.toContain('s3cr3t-start-failure');
    expect(line.stack).toBeUndefined();
  });

  it('in text prints an explained message alone, as written, and anything else with its stack', () => {
    const explained = new Error('Redis is unreachable at redis://127.0.0.1:6379\nStart it: redis-server');
    expect(printed(() => printStartFailure('Bootstrap', explained, true, {}))).toEqual([
      'Redis is unreachable at redis://127.0.0.1:6379',
      'Start it: redis-server',
    ]);
    expect(printed(() => printStartFailure('Bootstrap', failure(), false, { LOG_JSON: 'false' }))).toEqual([
      'listen EADDRINUSE: address already in use 127.0.0.1:9464',
      '    at Server.listen (node:net:1:1)',
      '    at main (main.js:2:2)',
    ]);
  });
});
