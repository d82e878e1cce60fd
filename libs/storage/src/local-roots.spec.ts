import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { localPathOf, LocalPathRefusedError, resolveUnderRoots } from './local-roots';

describe('resolveUnderRoots', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-roots-')));
    root = join(base, 'data');
    outside = join(base, 'secret');
    mkdirSync(join(root, 'flowers', 'rose'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'passwd'), 'root:x:0:0');
    // A sibling whose name starts like the root: path-segment aware, /data2 is not under /data.
    mkdirSync(join(base, 'data2'));
    symlinkSync(outside, join(root, 'escape'));
    symlinkSync(join(root, 'flowers'), join(base, 'via-link'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  async function refusal(path: string, roots = [root]): Promise<LocalPathRefusedError> {
    const error = await resolveUnderRoots(path, roots).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(LocalPathRefusedError);
    return error as LocalPathRefusedError;
  }

  it('gives the real path of a folder inside a root, the root itself included', async () => {
    await expect(resolveUnderRoots(join(root, 'flowers'), [root])).resolves.toBe(join(root, 'flowers'));
    await expect(resolveUnderRoots(root, [root])).resolves.toBe(root);
    await expect(resolveUnderRoots(join(root, 'flowers', '..', 'flowers', 'rose'), [root])).resolves.toBe(
      join(root, 'flowers', 'rose'),
    );
    // A link outside the roots that points in is read where it points.
    await expect(resolveUnderRoots(join(base, 'via-link'), [root])).resolves.toBe(join(root, 'flowers'));
    // Roots are resolved too: a root given through a link still holds its folders.
    await expect(resolveUnderRoots(join(root, 'flowers'), [join(base, 'via-link', '..')])).resolves.toBe(
      join(root, 'flowers'),
    );
  });

  it('refuses a symlink inside a root that points outside, and `..` escapes, as outside', async () => {
    expect((await refusal(join(root, 'escape'))).refusal).toBe('outside');
    expect((await refusal(join(root, 'escape', 'passwd'))).refusal).toBe('outside');
    expect((await refusal(join(root, '..', 'secret'))).refusal).toBe('outside');
    expect((await refusal(join(root, 'flowers', '..', '..', 'secret', 'passwd'))).refusal).toBe('outside');
    expect((await refusal(join(base, 'data2'))).refusal).toBe('outside');
  });

  it('says the same thing about existing and missing paths outside the roots', async () => {
    const existing = await refusal(outside);
    const missing = await refusal(join(base, 'nothing-here'));
    const missingBehindLink = await refusal(join(root, 'escape', 'no-such-file'));
    const unreadable = await refusal('/root/.ssh/id_rsa');
    expect(existing.message).toBe(missing.message);
    expect(missingBehindLink.message).toBe(existing.message);
    expect(unreadable.message).toBe(existing.message);
    expect(existing.message).not.toContain(outside);
  });

  it('gives a dangling link, a missing path inside a root and a link to an existing file outside one answer', async () => {
    // Were a dangling link "missing" and a link out "outside", a link inside a root would tell
    // whether any path outside exists: `root/b -> /etc/nope` against `root/b -> /etc/passwd`.
    symlinkSync(join(outside, 'no-such-file'), join(root, 'dangling'));
    symlinkSync(join(outside, 'passwd'), join(root, 'to-passwd'));
    symlinkSync(join(base, 'no-such-folder'), join(root, 'dangling-folder'));
    symlinkSync('/etc/passwd', join(root, 'etc-passwd'));
    symlinkSync(`/etc/no-such-file-${process.pid}`, join(root, 'etc-nope'));
    const answer = (error: LocalPathRefusedError) => ({ refusal: error.refusal, message: error.message });
    const linkOut = answer(await refusal(join(root, 'to-passwd')));
    expect(linkOut).toEqual({ refusal: 'outside', message: expect.stringMatching(/TRAINYARD_LOCAL_ROOTS/) });
    for (const path of [
      join(root, 'dangling'),
      join(root, 'dangling', 'x'),
      join(root, 'dangling-folder'),
      join(root, 'dangling-folder', 'x'),
      join(root, 'escape', 'no-such-file'),
      join(root, 'etc-passwd'),
      join(root, 'etc-nope'),
      join(root, 'tulips'),
      join(root, 'flowers', 'tulips', 'x'),
      join(root, 'flowers', 'rose', '..', 'nope'),
      outside,
      join(base, 'nothing-here'),
    ]) {
      expect({ path, answer: answer(await refusal(path)) }).toEqual({ path, answer: linkOut });
    }
  });

  it('refuses relative paths and NUL bytes, and everything when no root is configured', async () => {
    expect((await refusal('data/flowers')).refusal).toBe('not-absolute');
    expect((await refusal(`${root}/flowers\0/rose`)).refusal).toBe('not-absolute');
    const none = await refusal(join(root, 'flowers'), []);
    expect(none.refusal).toBe('no-roots');
    expect(none.message).toMatch(/TRAINYARD_LOCAL_ROOTS/);
  });

  it('reads file:// URIs as paths and refuses the ones that name none', () => {
    expect(localPathOf(pathToFileURL(join(root, 'a b', 'model.json')).href)).toBe(join(root, 'a b', 'model.json'));
    expect(localPathOf('/abs/model.json')).toBe('/abs/model.json');
    expect(() => localPathOf('file://elsewhere/x/model.json')).toThrow(LocalPathRefusedError);
    expect(() => localPathOf('file:///a%2Fb/model.json')).toThrow(LocalPathRefusedError);
  });
});
