import { cli, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '00000000-0000-4000-8000-000000000001';

/** Every numeric option of the CLI, with the command line it goes on. */
const OPTIONS: [string[], string][] = [
  [['ls'], '--limit'],
  [['datasets'], '--limit'],
  [['models'], '--limit'],
  [['pipelines'], '--limit'],
  [['sweeps'], '--limit'],
  [['logs', RUN], '--attempt'],
  [['download', RUN], '--checkpoint'],
  [['limits', 'p'], '--max-running'],
  [['limits', 'p'], '--max-queued'],
  [['limits', 'p'], '--max-priority'],
  [['limits', 'p'], '--max-upload-bytes'],
];

/**
 * A number the API's rule (decimalInt) refuses is refused by the CLI, naming the option, before
 * anything is sent: 22 digits made a Number were sent as `1e+21` (a 400 naming a value nobody
 * typed), and `0x10` or `-1` would mean other numbers to other readers.
 */
describe('numeric options', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  it.each(
    OPTIONS.flatMap(([command, flag]) =>
      ['1000000000000000000000', '0x10', '-1', '010'].map((value) => [command.join(' '), flag, value] as const),
    ),
  )('%s %s=%s is a usage error naming the option, nothing sent', async (command, flag, value) => {
    api = await scriptedApi({});
    const result = await cli([...command.split(' '), `${flag}=${value}`, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`trainyard: ${flag}`);
    expect(result.stderr).toContain(`"${value}"`);
    expect(result.stderr).not.toContain('e+21');
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { title: 'Usage error', errors: [{ field: flag }] } });
    expect(api.seen).toEqual([]);
  });

  it('says why: digits past the range, or not decimal digits', async () => {
    api = await scriptedApi({});
    const env = { TRAINYARD_URL: api.url };
    expect((await cli(['logs', RUN, '--attempt', '1000000000000000000000'], env)).stderr).toContain(
      'trainyard: --attempt expects an attempt number from 1 to 2147483647, got "1000000000000000000000"',
    );
    expect((await cli(['download', RUN, '--checkpoint', '0x10'], env)).stderr).toContain(
      'trainyard: --checkpoint: Expected a whole number in decimal digits (0-9), without sign, spaces, exponent, point or leading zero, got "0x10"',
    );
    // `--attempt -1` (no `=`) is refused by the argument parser, naming the option too.
    const separate = await cli(['logs', RUN, '--attempt', '-1', '--json'], env);
    expect(separate.code).toBe(EXIT.USAGE);
    expect(JSON.parse(separate.stdout)).toMatchObject({ error: { errors: [{ field: '--attempt' }] } });
    expect(api.seen).toEqual([]);
  });

  it('sends a number in range as the digits typed', async () => {
    api = await scriptedApi({});
    await cli(['logs', RUN, '--attempt', '2147483647'], { TRAINYARD_URL: api.url });
    expect(api.seen[0]).toContain(`GET /v1/runs/${RUN}/logs?attempt=2147483647&`);
  });
});
