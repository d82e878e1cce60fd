import { childExecArgv } from './supervise-child';

describe('childExecArgv', () => {
  it('keeps how this process runs, never what it runs or its debugger', () => {
    expect(childExecArgv(['--max-old-space-size=4096', '-e', 'fork()', '--enable-source-maps'])).toEqual([
      '--max-old-space-size=4096',
      '--enable-source-maps',
    ]);
    expect(
      childExecArgv([
        '--eval=fork()',
        '--print',
        'x',
        '-r',
        'dd-trace/init',
        '--inspect=9229',
        '--inspect-brk',
        '--inspect-port',
        '9230',
      ]),
    ).toEqual(['-r', 'dd-trace/init']);
    expect(childExecArgv([])).toEqual([]);
  });
});
