import { cli, json, openEventStream, rawControlCharacters, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

/**
 * What the commands print of text an API sends (names, reasons, errors, log lines): never a
 * control, bidi or zero-width character raw, always its escape. The scripted API plays a server
 * that does not refuse such text (an old one, another one, old rows).
 */
const RUN = '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5';
const DATASET = '1d2e3f40-5b6c-4d7e-8f80-91a2b3c4d5e6';

// An OSC 52 clipboard write, an OSC 8 hidden link, a CR over the line, a one-character CSI (C1), a bidi override.
const OSC52 = '\u001b]52;c;cm0gLXJmIH4K\u0007';
const OSC8 = '\u001b]8;;https://evil\u0007';
const REASON = `out of memory${OSC52}\rrun SUCCEEDED\n\u009b2J`;
const NAME = `resnet\u202egnp.exe\u200b`;
const CLASSES = [`cat${OSC52}`, `${OSC8}dog`, 'bird\u202e\u200b'];

const classification = {
  split: 'test',
  samples: 3,
  classNames: CLASSES,
  accuracy: 1,
  macroF1: 1,
  perClass: CLASSES.map((className) => ({ className, precision: 1, recall: 1, f1: 1, support: 1 })),
  confusionMatrix: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};

const runDetail = {
  id: RUN,
  name: NAME,
  kind: 'FINETUNE',
  status: 'FAILED',
  cancelRequested: false,
  failureReason: REASON,
  createdAt: '2026-12-05T20:00:00.000Z',
  startedAt: '2026-12-05T20:00:00.000Z',
  endedAt: '2026-12-05T20:01:00.000Z',
  baseRunId: null,
  tags: ['ok', `tag${OSC8}`],
  archivedAt: null,
  progress: null,
  notes: `# notes\nline two\u001b[2J\n`,
  dataReport: {
    folder: 'uploads/x/',
    classNames: CLASSES,
    splits: { train: 3, validation: 3, test: 3 },
    skippedCount: 1,
    skipped: [{ file: `cat/${OSC8}.png`, reason: 'not an image\rOK' }],
  },
  summaries: [{ name: 'val\u202eloss', last: 0.5, best: 0.25, bestStep: 3, count: 4 }],
  checkpoints: [],
  attempts: [
    {
      id: 'a-1',
      runId: RUN,
      number: 1,
      workerId: 'w-1',
      backend: 'wasm',
      startedAt: '2026-12-05T20:00:00.000Z',
      endedAt: '2026-12-05T20:01:00.000Z',
      outcome: 'CRASHED',
      error: `killed\u009b31m${OSC52}`,
    },
  ],
  result: classification,
};

/** Every escape the hostile text above must be shown as. */
const SHOWN = ['\\u001b]52;c;cm0gLXJmIH4K\\u0007', '\\u001b]8;;https://evil\\u0007', '\\u000d', '\\u009b', '\\u202e'];

describe('text from the API, as the commands print it', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());
  const run = (argv: string[]) => cli(argv, { TRAINYARD_URL: api!.url });

  it('show: the name, status line, tags, data, tables and notes hold no raw control character', async () => {
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(runDetail) });
    const { code, stdout, stderr } = await run(['show', RUN]);
    expect({ code, stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(rawControlCharacters(stdout)).toEqual([]);
    for (const escape of SHOWN) expect(stdout).toContain(escape);
    const lines = stdout.split('\n');
    expect(lines).toContain('name      resnet\\u202egnp.exe\\u200b');
    // The reason's line feed is escaped: it cannot start a line of its own.
    expect(lines).toContain(
      'status    FAILED: out of memory\\u001b]52;c;cm0gLXJmIH4K\\u0007\\u000drun SUCCEEDED\\u000a\\u009b2J',
    );
    expect(lines).not.toContain('run SUCCEEDED');
    expect(lines).toContain('          cat/\\u001b]8;;https://evil\\u0007.png: not an image\\u000dOK');
    // Notes are lines: their own line feeds stay, their controls do not.
    expect(stdout).toContain('notes\n# notes\nline two\\u001b[2J\n');
  });

  it('show --json: parses to what the API sent, with no raw control, C1, separator or bidi character', async () => {
    const sent = { ...runDetail, name: `${NAME}\u0085\u2028\u2029` };
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(sent) });
    const { code, stdout } = await run(['show', RUN, '--json']);
    expect(code).toBe(EXIT.OK);
    expect(rawControlCharacters(stdout)).toEqual([]);
    expect(JSON.parse(stdout)).toEqual(sent);
    expect(stdout).toContain('\\u0085\\u2028\\u2029');
  });

  it('datasets show: class names escaped, the counts still in one column', async () => {
    api = await scriptedApi({
      [`GET /v1/datasets/${DATASET}`]: json({
        id: DATASET,
        name: `pets${OSC8}`,
        uri: 's3://bucket/pets/',
        classNames: CLASSES,
        counts: [1, 22, 333],
      }),
    });
    const { code, stdout } = await run(['datasets', 'show', DATASET]);
    expect(code).toBe(EXIT.OK);
    expect(rawControlCharacters(stdout)).toEqual([]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`pets\\u001b]8;;https://evil\\u0007 (${DATASET}) at s3://bucket/pets/`);
    const column = lines[1].indexOf('images');
    expect(lines.slice(3).map((l) => l.slice(column).trimEnd())).toEqual(['1', '22', '333']);
    expect(lines.slice(3).map((l) => l.slice(0, column).trimEnd())).toEqual([
      'cat\\u001b]52;c;cm0gLXJmIH4K\\u0007',
      '\\u001b]8;;https://evil\\u0007dog',
      'bird\\u202e\\u200b',
    ]);
  });

  it('ls: a run name with a bidi override and zero-width characters stays in its cell', async () => {
    const item = { ...runDetail, summaries: [], baseRunName: null, result: null };
    api = await scriptedApi({ 'GET /v1/runs': json({ items: [item], nextCursor: null }) });
    const { code, stdout } = await run(['ls']);
    expect(code).toBe(EXIT.OK);
    expect(rawControlCharacters(stdout)).toEqual([]);
    const [header, , row] = stdout.split('\n');
    expect(row.indexOf('ok,tag')).toBe(header.indexOf('tags'));
  });

  it('watch: the failure reason is escaped, on one line', async () => {
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}/events`]: (_req, res) =>
        openEventStream(res)('status', {
          type: 'status',
          runId: RUN,
          status: 'FAILED',
          progress: null,
          failureReason: REASON,
          endedAt: '2026-12-05T20:01:00.000Z',
        }),
    });
    const { code, stdout } = await run(['watch', RUN]);
    expect(code).toBe(EXIT.RUN_FAILED);
    expect(rawControlCharacters(stdout)).toEqual([]);
    expect(stdout).toBe(
      `run ${RUN} FAILED: out of memory\\u001b]52;c;cm0gLXJmIH4K\\u0007\\u000drun SUCCEEDED\\u000a\\u009b2J\n`,
    );
  });

  it('logs: a line a training printed is shown escaped, as one line', async () => {
    const line = { t: '2026-12-05T20:00:00.000Z', attempt: 1, source: 'train', level: 'info', msg: `epoch 1\r${OSC8}` };
    api = await scriptedApi({ [`GET /v1/runs/${RUN}/logs`]: json({ lines: [line], complete: true, next: null }) });
    const { stdout } = await run(['logs', RUN]);
    expect(rawControlCharacters(stdout)).toEqual([]);
    expect(stdout).toBe(`${line.t} #1 train  epoch 1\\u000d\\u001b]8;;https://evil\\u0007\n`);
  });

  it("an API error's message is escaped on stderr; with --json it is on stdout as the same JSON", async () => {
    const problem = {
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: `busy${OSC52}\r\u202e`,
      requestId: 'q\u009b1',
    };
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(problem, 409) });
    const plain = await run(['show', RUN]);
    expect(plain.code).toBe(EXIT.API);
    expect(rawControlCharacters(plain.stderr)).toEqual([]);
    expect(plain.stderr).toBe(
      `trainyard: GET /v1/runs/${RUN} answered 409: busy\\u001b]52;c;cm0gLXJmIH4K\\u0007\\u000d\\u202e (request q\\u009b1)\n`,
    );
    const asJson = await run(['show', RUN, '--json']);
    expect(rawControlCharacters(asJson.stdout + asJson.stderr)).toEqual([]);
    expect(JSON.parse(asJson.stdout)).toEqual({ error: { ...problem } });
  });

  it("metrics: a text cell a spreadsheet would run as a formula starts with ', a negative value stays a number", async () => {
    const point = (name: string, value: number | null) => ({
      id: 1,
      runId: RUN,
      attemptId: null,
      name,
      step: 1,
      epoch: 1,
      value,
      wallTime: '2026-12-05T20:00:00.000Z',
    });
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}/metrics`]: json({
        points: [
          point('=HYPERLINK("https://evil","x")', -0.5),
          point('+1', 1),
          point('-2+3', null),
          point('@SUM(A1)', -1e-7),
          point('\tcmd', 2),
          point('\rcmd', 3),
          point('loss', -0.5),
        ],
      }),
    });
    const { code, stdout } = await run(['metrics', RUN]);
    expect(code).toBe(EXIT.OK);
    expect(stdout.split('\n')).toEqual([
      'name,step,epoch,value,wallTime,attemptId',
      `"'=HYPERLINK(""https://evil"",""x"")",1,1,-0.5,2026-12-05T20:00:00.000Z,`,
      "'+1,1,1,1,2026-12-05T20:00:00.000Z,",
      "'-2+3,1,1,,2026-12-05T20:00:00.000Z,",
      "'@SUM(A1),1,1,-1e-7,2026-12-05T20:00:00.000Z,",
      "'\tcmd,1,1,2,2026-12-05T20:00:00.000Z,",
      `"'\\u000dcmd",1,1,3,2026-12-05T20:00:00.000Z,`,
      'loss,1,1,-0.5,2026-12-05T20:00:00.000Z,',
      '',
    ]);
  });
});
