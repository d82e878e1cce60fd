import { ChildMessageSchema, describeInvalidMessage, MAX_POINTS_PER_EVENT, storable } from './child-messages.schema';

const wallTime = '2026-12-01T10:00:00.000Z';
const point = (name: string, step = 3, value = 0.5) => ({ name, step, epoch: 1, value, wallTime });
const metrics = (...points: unknown[]) => ({ kind: 'event', event: { type: 'metrics', points } });
const checkpoint = {
  type: 'checkpoint',
  sequence: 2,
  epoch: 1,
  step: 8,
  uri: 'file:///tmp/trainyard/runs/r/checkpoints/2/',
  bytes: 20480,
  sha256: 'a'.repeat(64),
  models: ['autoencoder', 'encoder'],
  reason: 'best',
  metric: { name: 'val_loss', value: 0.25 },
};

/** Why the message is refused, as the attempt's error will say it; null when it passes. */
const refusal = (message: unknown): string | null => {
  const parsed = ChildMessageSchema.safeParse(message);
  return parsed.success ? null : describeInvalidMessage(parsed.error);
};

describe('ChildMessageSchema', () => {
  it('passes what a training sends, any double as a metric value, and drops keys the types do not declare', () => {
    const sent = [
      { kind: 'ready' },
      { kind: 'heartbeat' },
      { kind: 'event', event: { type: 'backend', backend: 'wasm', detail: 'XNNPACK, SIMD' } },
      {
        kind: 'event',
        event: {
          type: 'progress',
          progress: { phase: 'loading', epoch: 0, epochs: 3, step: 0, stepsPerEpoch: 0, updatedAt: wallTime },
        },
      },
      metrics(point('loss'), point('batch_loss', 4, NaN), point('val_loss', 5, Infinity), point('x', 6, -Infinity)),
      { kind: 'event', event: checkpoint },
      { kind: 'event', event: { type: 'resumed', sequence: 1, epoch: 0, step: -1 } },
      { kind: 'event', event: { type: 'checkpoint-corrupt', sequence: 1, reason: 'sha256 mismatch' } },
      {
        kind: 'event',
        event: { type: 'result', result: { split: 'test', samples: 40, mse: NaN, selection: undefined } },
      },
      {
        kind: 'event',
        event: {
          type: 'data-report',
          report: {
            folder: 'file:///data/pets/',
            classNames: ['cat', 'dog\nnewline folder'],
            files: 10,
            splits: { train: 6, validation: 2, test: 1 },
            skippedCount: 1,
            skipped: [{ file: 'a.png', reason: 'corrupt' }],
            decoded: 9,
            cacheHits: 0,
          },
        },
      },
      { kind: 'outcome', outcome: { status: 'succeeded' } },
      {
        kind: 'devices',
        report: {
          backend: 'cpu',
          detail: 'stock',
          gpus: [],
          unusedGpus: [{ index: 0, uuid: null, model: 'T4', memoryMb: null }],
        },
      },
    ];
    for (const message of sent) expect(refusal(message)).toBeNull();
    const parsed = ChildMessageSchema.parse({ ...metrics({ ...point('loss'), extra: 1 }), extra: 2 });
    expect(parsed).toEqual(metrics(point('loss')));
    const failed = ChildMessageSchema.parse({
      kind: 'outcome',
      outcome: { status: 'failed', reason: 'x', retryable: true, crash: { pid: 1 } },
    });
    expect(failed).toEqual({ kind: 'outcome', outcome: { status: 'failed', reason: 'x', retryable: true } });
  });

  it('refuses a metric name PostgreSQL or a log line cannot take, naming where and why', () => {
    expect(refusal(metrics(point('loss'), point('val\u0000loss')))).toBe(
      'event.points[1].name: Control character U+0000 at position 3 is not allowed',
    );
    expect(refusal(metrics(point('loss\nINFO forged')))).toBe(
      'event.points[0].name: Control character U+000A at position 4 is not allowed',
    );
    expect(refusal(metrics(point('loss\ud800')))).toMatch(
      /^event\.points\[0\]\.name: Lone UTF-16 surrogate at position 4/,
    );
    expect(refusal(metrics(point('x'.repeat(121))))).toMatch(
      /^event\.points\[0\]\.name: Too big: expected string to have <=120/,
    );
    expect(refusal(metrics(point('x'.repeat(120))))).toBeNull();
    expect(refusal(metrics(point('')))).toMatch(/^event\.points\[0\]\.name: Too small/);
    expect(refusal({ kind: 'event', event: { ...checkpoint, metric: { name: 'val\u0007loss', value: 1 } } })).toMatch(
      /^event\.metric\.name: Control character U\+0007/,
    );
  });

  it('refuses steps, epochs, values and times the database cannot take, and oversized batches', () => {
    expect(refusal(metrics(point('loss', -1)))).toMatch(/^event\.points\[0\]\.step: Too small/);
    expect(refusal(metrics(point('loss', 1.5)))).toMatch(/^event\.points\[0\]\.step: Invalid input: expected int/);
    expect(refusal(metrics(point('loss', 2 ** 31)))).toMatch(/^event\.points\[0\]\.step: Too big/);
    expect(refusal(metrics({ ...point('loss'), value: '0.5' }))).toBe(
      'event.points[0].value: Invalid input: expected a number',
    );
    expect(refusal(metrics({ ...point('loss'), value: null }))).toBe(
      'event.points[0].value: Invalid input: expected a number',
    );
    expect(refusal(metrics({ ...point('loss'), wallTime: 'yesterday' }))).toMatch(/^event\.points\[0\]\.wallTime: /);
    const many = Array.from({ length: MAX_POINTS_PER_EVENT + 1 }, (_, i) => point('loss', i));
    expect(refusal(metrics(...many))).toMatch(/^event\.points: Too big: expected array to have <=1000 items/);
    expect(refusal(metrics(...many.slice(1)))).toBeNull();
    expect(refusal({ kind: 'event', event: { ...checkpoint, sha256: 'nope' } })).toBe(
      'event.sha256: Invalid input: expected a lowercase hex sha256',
    );
    expect(refusal({ kind: 'event', event: { ...checkpoint, sequence: 0, step: -2 } })).toMatch(
      /^event\.sequence: Too small.*; event\.step: Too small/,
    );
  });

  it('refuses unknown kinds and event types, and what is not a message at all', () => {
    expect(refusal({ kind: 'event', event: { type: 'telemetry', payload: 1 } })).toMatch(
      /^event\.type: Invalid discriminator value\. Expected 'backend' \| 'progress'/,
    );
    expect(refusal({ kind: 'shell', command: 'rm -rf /' })).toMatch(/^kind: Invalid discriminator value/);
    expect(refusal('ready')).toMatch(/^the message: Invalid input/);
    expect(refusal(null)).toMatch(/^the message: Invalid input/);
  });

  it('refuses a result a JSON column cannot hold, naming where', () => {
    const result = (value: unknown) => ({ kind: 'event', event: { type: 'result', result: value } });
    expect(refusal(result({ classNames: ['cat', 'd\u0000g'] }))).toBe(
      'event.result: result.classNames[1]: a NUL or a lone UTF-16 surrogate cannot be stored',
    );
    expect(refusal(result({ perClass: [{ className: '\udc00' }] }))).toMatch(/result\.perClass\[0\]\.className: a NUL/);
    expect(refusal(result({ at: new Date() }))).toMatch(/result\.at: a Date is not JSON/);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(refusal(result({ deep }))).toMatch(/nested more than 16 levels deep/);
    expect(refusal(result([1, 2]))).toMatch(/result: expected an object/);
  });

  it('makes free text storable instead of refusing it: NUL and lone surrogates replaced, cut to its bound', () => {
    const parsed = ChildMessageSchema.parse({
      kind: 'outcome',
      outcome: { status: 'failed', reason: `bad\u0000byte \ud800 and 😀${'x'.repeat(9000)}`, retryable: false },
    });
    const reason = (parsed as { outcome: { reason: string } }).outcome.reason;
    expect(reason.startsWith('bad\ufffdbyte \ufffd and 😀x')).toBe(true);
    expect(reason).toHaveLength(8001);
    expect(reason.endsWith('x…')).toBe(true);
  });

  it('stores escapes, bidirectional overrides and C1 controls in free text as escaped text, never raw', () => {
    const osc52 = '\u001b]52;c;cm0gLXJmIH4K\u0007';
    const parsed = ChildMessageSchema.parse({
      kind: 'event',
      event: {
        type: 'data-report',
        report: {
          classNames: ['cat', 'dog'],
          files: 3,
          splits: { train: 1, validation: 1, test: 0 },
          skippedCount: 1,
          skipped: [{ file: `cat/${osc52}.png`, reason: 'corrupt\n[Nest] 1 - LOG forged\u202e\u0085' }],
          decoded: 2,
          cacheHits: 0,
        },
      },
    }) as { event: { report: { skipped: { file: string; reason: string }[] } } };
    expect(parsed.event.report.skipped).toEqual([
      {
        file: 'cat/\\u001b]52;c;cm0gLXJmIH4K\\u0007.png',
        reason: 'corrupt\\n[Nest] 1 - LOG forged\\u202e\\u0085',
      },
    ]);
    const failed = ChildMessageSchema.parse({
      kind: 'outcome',
      outcome: { status: 'failed', reason: 'two\n\tlines\r\u001b[2J', retryable: false },
    }) as { outcome: { reason: string } };
    // A failure reason keeps its lines and tabs; the rest is escaped.
    expect(failed.outcome.reason).toBe('two\n\tlines\\r\\u001b[2J');
  });

  it('cuts escaped free text to its bound without leaving half an escape', () => {
    expect(storable('abc\u001b', 6)).toBe('abc…');
    expect(storable('abc\u001b', 9)).toBe('abc\\u001b');
    expect(storable('abcdef\u001b', 5)).toBe('abcde…');
    expect(storable('ab\nc', 3)).toBe('ab…');
    expect(storable('ab\nc', 3, true)).toBe('ab\n…');
  });

  it('says at most three problems, and how many more there were', () => {
    const bad = metrics(...Array.from({ length: 5 }, (_, i) => point(`bad\u0000${i}`, i)));
    expect(refusal(bad)).toMatch(
      /^(event\.points\[\d\]\.name: [^;]+; ){2}event\.points\[2\]\.name: [^;]+ \(and 2 more\)$/,
    );
  });
});
