import { reportFailure } from './error-report';
import { EXIT } from './exit-codes';

/** A failed system call as Node makes one. */
const systemError = (code: string, syscall: string, path: string, text: string) =>
  Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path, errno: -1 });

function report(error: unknown, json = false) {
  let stdout = '';
  let stderr = '';
  const code = reportFailure(error, { out: (t) => (stdout += t), err: (t) => (stderr += t) }, { json });
  return { code, stdout, stderr };
}

describe('reportFailure', () => {
  it.each([
    [
      systemError('EPERM', 'mkdir', '/ro/ckpt', 'operation not permitted'),
      'trainyard: cannot create the folder /ro/ckpt: operation not permitted (EPERM)\n',
    ],
    [
      systemError('ENOSPC', 'write', '/data/ckpt/weights.bin', 'no space left on device'),
      'trainyard: cannot write /data/ckpt/weights.bin: no space left on the device (ENOSPC)\n',
    ],
    [
      systemError('EXDEV', 'open', '/x', 'cross-device link not permitted'),
      'trainyard: cannot open /x: cross-device link not permitted (EXDEV)\n',
    ],
  ])('tells a local file error in one line naming the path, exit 7, no stack', (error, line) => {
    expect(report(error)).toEqual({ code: EXIT.LOCAL_IO, stdout: '', stderr: line });
  });

  it('gives a local file error as one problem object under --json', () => {
    const result = report(systemError('EACCES', 'open', '/ro/f', 'permission denied'), true);
    expect(result.code).toBe(EXIT.LOCAL_IO);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        title: 'Local file error',
        detail: 'cannot open /ro/f: permission denied (EACCES)',
        path: '/ro/f',
        reason: 'permission denied (EACCES)',
      },
    });
  });
});
