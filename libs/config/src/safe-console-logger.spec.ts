import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { withLogFields } from './log-fields';
import { registerSecret } from './redact';
import { SafeConsoleLogger } from './safe-console-logger';

/** Captures what is written to stdout and stderr, one entry per line, until `restore`. */
function capturing(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  return {
    lines,
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

/** What the logger writes to stdout and stderr while `fn` runs, one entry per line. */
function printed(fn: () => void): string[] {
  const { lines, restore } = capturing();
  try {
    fn();
  } finally {
    restore();
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

  describe('with LOG_JSON off, a line cannot be forged', () => {
    const forged = 'evil\n[Nest] 1 - 01/01/2026, 10:00:00 AM LOG [worker] run X SUCCEEDED\n    at x (y:1:2)';
    const logger = new SafeConsoleLogger('worker', { json: false, colors: false });
    /** Lines that are neither the logger's own nor a stack frame. */
    const foreign = (lines: string[]) =>
      lines.filter((l) => !l.startsWith(`[Nest] ${process.pid} `) && !/^ {4}at \S/.test(l));

    it('by a message that holds a stack frame: one line, escaped', () => {
      for (const log of [
        () => logger.log(`run X failed: ${forged}`),
        () => logger.error(`run X failed: ${forged}`),
        () => logger.warn(forged, 'RunsService'),
      ]) {
        const lines = printed(log);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('evil\\n[Nest] 1 - 01/01/2026, 10:00:00 AM LOG [worker] run X SUCCEEDED\\n    at x');
      }
    });

    it('by an Error whose message holds lines, escape sequences or bidirectional overrides', () => {
      const error = new Error(`${forged}\u001b[2J\u202e`);
      const frames = error
        .stack!.split('\n')
        .filter((l) => /^ {4}at /.test(l))
        .slice(1);
      const lines = printed(() => logger.error(error));
      expect(foreign(lines)).toEqual([]);
      expect(lines[0]).toContain('evil\\n[Nest] 1 - ');
      expect(lines[0]).toContain('SUCCEEDED\\n    at x (y:1:2)\\u001b[2J\\u202e');
      // The frame-shaped line of the message stays in it: the frames printed are the Error's own.
      expect(lines.slice(1)).toEqual(frames);
      expect(lines.join('\n')).not.toMatch(/[\u001b\u202e]/);
    });

    it('by text passed where a stack goes: only frames keep lines of their own', () => {
      const lines = printed(() => logger.error('run X failed', forged));
      expect(foreign(lines)).toEqual(['evil\\n[Nest] 1 - 01/01/2026, 10:00:00 AM LOG [worker] run X SUCCEEDED']);
      expect(lines[lines.length - 1]).toBe('    at x (y:1:2)');
    });

    it('while a real stack is still printed one frame a line', () => {
      const error = new Error('boom');
      const frames = error.stack!.split('\n').slice(1);
      const lines = printed(() => logger.error('request failed: boom', error.stack, 'ProblemDetails'));
      expect(lines[0]).toContain('[ProblemDetails] request failed: boom');
      expect(lines.slice(1)).toEqual(['Error: boom', ...frames]);
    });
  });

  it("does not print an app's creation error Nest hands to the caller: the caller says it, once", async () => {
    const logger = new SafeConsoleLogger('api', { json: false, colors: false });
    @Module({ providers: [{ provide: 'DATABASE', useFactory: () => Promise.reject(new Error('no such database x')) }] })
    class Failing {}
    const { lines, restore } = capturing();
    try {
      await expect(NestFactory.createApplicationContext(Failing, { logger, abortOnError: false })).rejects.toThrow(
        'no such database x',
      );
      logger.error('a request failed: no such database x', 'ExceptionsHandler');
    } finally {
      restore();
    }
    // Nest's own lines (starting, its ExceptionHandler's) but the error: only the other context's.
    expect(lines.filter((line) => line.includes('no such database x'))).toEqual([
      expect.stringContaining('[ExceptionsHandler] a request failed'),
    ]);
  });
});
