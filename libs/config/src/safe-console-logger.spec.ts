import { withLogFields } from './log-fields';
import { registerSecret } from './redact';
import { SafeConsoleLogger } from './safe-console-logger';

/** What the logger writes to stdout and stderr while `fn` runs, one entry per line. */
function printed(fn: () => void): string[] {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return lines;
}

describe('SafeConsoleLogger', () => {
  const about = {
    runId: '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5',
    attempt: 2,
    jobId: '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5',
  };

  it('in JSON mode puts runId, attempt and jobId at the top level of the line', () => {
    const logger = new SafeConsoleLogger('worker', { json: true });
    const [line] = printed(() => logger.log('run started', about, 'TrainingProcessor'));
    expect(JSON.parse(line!)).toMatchObject({
      level: 'log',
      message: 'run started',
      context: 'TrainingProcessor',
      ...about,
    });
  });

  it('in JSON mode takes the fields in effect (withLogFields), and an explicit field wins', () => {
    const logger = new SafeConsoleLogger('api', { json: true });
    const lines = printed(() =>
      withLogFields({ requestId: 'req-1' }, () => {
        logger.error('boom', 'ExceptionsHandler');
        withLogFields({ runId: 'r' }, () => logger.warn('inner', { attempt: 3, requestId: 'req-2' }, 'X'));
      }),
    );
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'error', message: 'boom', requestId: 'req-1' }),
      expect.objectContaining({ level: 'warn', message: 'inner', requestId: 'req-2', runId: 'r', attempt: 3 }),
    ]);
  });

  it('in text mode shows the fields as a [run … attempt … job …] prefix, not as an object', () => {
    const logger = new SafeConsoleLogger('worker', { json: false, colors: false });
    const [line] = printed(() => logger.log('run started', about, 'TrainingProcessor'));
    expect(line).toContain(`[TrainingProcessor] [run ${about.runId} attempt 2 job ${about.jobId}] run started`);
    expect(line).not.toContain('{');
    const [request] = printed(() =>
      withLogFields({ requestId: 'abc' }, () => logger.error('failed', 'ExceptionsHandler')),
    );
    expect(request).toContain('[ExceptionsHandler] [request abc] failed');
  });

  it('redacts secrets and escapes control characters in field values too', () => {
    registerSecret('s3cr3t-value-for-test');
    const logger = new SafeConsoleLogger('worker', { json: true });
    const [line] = printed(() => logger.log('see s3cr3t-value-for-test', { jobId: 'a\nb s3cr3t-value-for-test' }, 'X'));
    const parsed = JSON.parse(line!);
    expect(parsed).toMatchObject({ message: 'see ***', jobId: 'a\\nb ***' });
  });
});
