import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { cli, cliCommand, json, scriptedApi, type Route } from '../testing/scripted-api';
import { downloadCommandWith } from './download.command';
import { EXIT } from './exit-codes';
import { STALE_PART_AGE_MS } from './stale-parts';

const RUN = '3f0c6d2e-8d1a-4c55-9a51-0d3c1f6b7a10';
const CKPT = `/v1/runs/${RUN}/checkpoints/1`;
const MANIFEST = 'manifest.json';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A tar of `entries` (in order) under `<run>-ckpt1/`, as the API's archive route writes it. */
async function tar(entries: [string, Buffer][]): Promise<Buffer> {
  const archive = pack();
  for (const [name, body] of entries) archive.entry({ name: `${RUN.slice(0, 8)}-ckpt1/${name}` }, body);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The body in 8 KiB writes, so the CLI's tar reader fills up (its buffer is 16 KiB) before it could fail. */
const body =
  (bytes: Buffer): Route =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': String(bytes.length) });
    for (let at = 0; at < bytes.length; at += 8192) res.write(bytes.subarray(at, at + 8192));
    res.end();
  };

/** The first half of the body, then nothing more until the client leaves (a download under way). */
const stalls =
  (bytes: Buffer): Route =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
    res.write(bytes.subarray(0, bytes.length >> 1));
  };

/** Ctrl-C once the progress line is drawn. */
function ctrlCOnProgress() {
  const interrupt = new AbortController();
  return {
    stdoutIsTty: true,
    signal: interrupt.signal,
    onOut: (text: string) => void (text.startsWith('\r') && interrupt.abort()),
  };
}

/** What is in `dir` whose name starts with `name`: the download's folder or file, and any partial one beside it. */
const leftIn = (dir: string, name: string) => readdirSync(dir).filter((f) => f.startsWith(name));

const manifestOf = (files: Record<string, Buffer>) =>
  Buffer.from(
    JSON.stringify({
      version: 1,
      createdAt: new Date().toISOString(),
      files: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, { sha256: sha256(b), bytes: b.length }])),
    }),
  );

describe('trainyard download', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-download-'));
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const download = (...args: string[]) =>
    cli(['download', RUN, '--checkpoint', '1', ...args], { TRAINYARD_URL: api!.url, XDG_CONFIG_HOME: home });
  const interrupted = (...args: string[]) =>
    cli(
      ['download', RUN, '--checkpoint', '1', ...args],
      { TRAINYARD_URL: api!.url, XDG_CONFIG_HOME: home },
      ctrlCOnProgress(),
    );

  const weights = randomBytes(200 * 1024);
  const model = Buffer.from('{"modelTopology":{}}');

  describe('--archive', () => {
    it('exits 5 with the reason on a body that is no tar, instead of waiting for the reader it broke', async () => {
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(randomBytes(256 * 1024)) });
      const result = await download('--archive', '--out', join(home, 'junk.tar'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toMatch(/junk\.tar: not a readable checkpoint archive: .*tar header/i);
      expect(result.stderr).not.toMatch(/\n\s+at /); // a reason, no stack
    }, 15_000);

    it('exits 5 naming manifest.json when it is not JSON, the rest of the archive still to come', async () => {
      const bytes = await tar([
        ['manifest.json', Buffer.from('{"version": 1, "files": {')],
        ['model.json', model],
        ['weights.bin', weights],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const result = await download('--archive', '--out', join(home, 'bad-manifest.tar'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toMatch(/manifest\.json in .*bad-manifest\.tar: not valid JSON/);
    }, 15_000);

    it('exits 5 naming a file the manifest lists that the archive lacks', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'model.json': model, 'weights.bin': weights })],
        ['model.json', model],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const result = await download('--archive', '--out', join(home, 'short.tar'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toContain('manifest.json lists a file the checkpoint does not hold: weights.bin');
      // Nothing that looks like a whole archive is left, nor its partial file.
      expect([existsSync(join(home, 'short.tar')), existsSync(join(home, 'short.tar.part'))]).toEqual([false, false]);
    }, 15_000);

    it('exits 130 when interrupted, the progress line ended first, no file left', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'weights.bin': weights })],
        ['weights.bin', weights],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: stalls(bytes) });
      const out = join(home, 'interrupted-archive');
      const result = await interrupted('--archive', '--out', `${out}.tar`);
      expect(result).toMatchObject({ code: EXIT.INTERRUPTED, stderr: 'trainyard: interrupted\n' });
      expect(result.stdout).toMatch(/\n$/);
      expect(leftIn(home, 'interrupted-archive')).toEqual([]);
    }, 15_000);

    it('takes --out DIR/ (a trailing slash) for a folder, created if need be, the tar inside', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'model.json': model })],
        ['model.json', model],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const result = await download('--archive', '--out', `${join(home, 'dl2')}/`);
      expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
      expect(readdirSync(join(home, 'dl2'))).toEqual([`${RUN.slice(0, 8)}-ckpt1.tar`]);
    }, 15_000);

    it('two downloads of one archive at once each write a partial file of their own; the first done keeps the name', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'weights.bin': weights })],
        ['weights.bin', weights],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const out = join(home, 'twice.tar');
      const results = await Promise.all([download('--archive', '--out', out), download('--archive', '--out', out)]);
      expect(results.map((r) => r.code).sort()).toEqual([EXIT.OK, EXIT.LOCAL_IO]);
      expect(results.find((r) => r.code === EXIT.LOCAL_IO)!.stderr).toContain(
        `cannot write ${out}: a file of that name is in the way (EEXIST)`,
      );
      // With --force both land, one after the other.
      const forced = await Promise.all([
        download('--archive', '--out', out, '--force'),
        download('--archive', '--out', out, '--force'),
      ]);
      expect(forced.map((r) => [r.code, r.stderr])).toEqual([
        [EXIT.OK, ''],
        [EXIT.OK, ''],
      ]);
      expect(readFileSync(out)).toEqual(bytes);
      expect(leftIn(home, 'twice.tar')).toEqual(['twice.tar']);
    }, 15_000);

    it('refuses a .tar already there (exit 7, as other local file errors), fetching nothing; --force replaces it', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'model.json': model })],
        ['model.json', model],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const earlier = join(home, 'earlier.tar');
      writeFileSync(earlier, 'an earlier download');
      const refused = await download('--archive', '--out', earlier);
      expect(refused).toMatchObject({
        code: EXIT.LOCAL_IO,
        stderr: `trainyard: cannot write ${earlier}: a file of that name is in the way (EEXIST): --force replaces it, or name another file with --out\n`,
      });
      const asJson = await download('--archive', '--out', earlier, '--json');
      expect(asJson.code).toBe(EXIT.LOCAL_IO);
      expect(JSON.parse(asJson.stdout)).toMatchObject({ error: { title: 'Local file error', path: earlier } });
      // The default name in a folder is checked the same way.
      mkdirSync(join(home, 'dl3'));
      writeFileSync(join(home, 'dl3', `${RUN.slice(0, 8)}-ckpt1.tar`), 'an earlier download');
      expect((await download('--archive', '--out', join(home, 'dl3'))).code).toBe(EXIT.LOCAL_IO);
      expect(api.seen).toEqual([]);
      expect(readFileSync(earlier, 'utf8')).toBe('an earlier download');

      expect(await download('--archive', '--out', earlier, '--force')).toMatchObject({ code: EXIT.OK, stderr: '' });
      expect(readFileSync(earlier)).toEqual(bytes);
      expect(leftIn(home, 'earlier.tar')).toEqual(['earlier.tar']);
    }, 15_000);

    it('keeps a .tar that appeared while it downloaded (another download), its own verified copy not kept', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'weights.bin': weights })],
        ['weights.bin', weights],
      ]);
      const out = join(home, 'raced.tar');
      api = await scriptedApi({
        // The other download finishes while this one's body is under way.
        [`GET ${CKPT}/archive`]: (req, res, url) => {
          writeFileSync(out, 'the other download');
          body(bytes)(req, res, url);
        },
      });
      const result = await download('--archive', '--out', out);
      expect(result.code).toBe(EXIT.LOCAL_IO);
      expect(result.stderr).toContain(`cannot write ${out}: a file of that name is in the way (EEXIST)`);
      expect(readFileSync(out, 'utf8')).toBe('the other download');
      expect(leftIn(home, 'raced.tar')).toEqual(['raced.tar']);
    }, 15_000);

    it('verifies a whole archive (exit 0)', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'model.json': model, 'weights.bin': weights })],
        ['model.json', model],
        ['weights.bin', weights],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const result = await download('--archive', '--out', join(home, 'good.tar'));
      expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
      expect([existsSync(join(home, 'good.tar')), existsSync(join(home, 'good.tar.part'))]).toEqual([true, false]);
      expect(result.stdout).toContain('sha256 verified against manifest.json: 2 of 2 files');
    }, 15_000);
  });

  describe('file by file', () => {
    const files = (listing: Record<string, Buffer>): Record<string, Route> => ({
      [`GET ${CKPT}/files`]: json({
        files: Object.entries(listing).map(([file, b]) => ({ file, bytes: b.length })),
      }),
      [`GET ${CKPT}/download`]: (req, res, url) => body(listing[url.searchParams.get('file')!]!)(req, res, url),
    });

    it('exits 5 naming a file the manifest lists that the checkpoint does not hold', async () => {
      api = await scriptedApi(
        files({ 'manifest.json': manifestOf({ 'model.json': model, 'weights.bin': weights }), 'model.json': model }),
      );
      const result = await download('--out', join(home, 'missing'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toContain('manifest.json lists a file the checkpoint does not hold: weights.bin');
    });

    it('leaves nothing when a file does not match the manifest, not even the files that did', async () => {
      const other = Buffer.from('{"modelTopology":{"changed":true}}');
      api = await scriptedApi({
        ...files({ 'manifest.json': manifestOf({ 'model.json': model }), 'model.json': other }),
      });
      const result = await download('--out', join(home, 'mismatch'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toMatch(/mismatch\/model\.json: sha256 [0-9a-f]{64}/);
      expect(leftIn(home, 'mismatch')).toEqual([]);
    });

    it('verifies every file and puts them in the folder named, nothing else beside it', async () => {
      api = await scriptedApi(
        files({
          'manifest.json': manifestOf({ 'model.json': model, 'weights.bin': weights }),
          'model.json': model,
          'weights.bin': weights,
        }),
      );
      const result = await download('--out', join(home, 'whole'));
      expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
      expect(result.stdout).toContain('sha256 verified against manifest.json: 2 of 2 files');
      expect(readdirSync(join(home, 'whole')).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
      expect(leftIn(home, 'whole')).toEqual(['whole']);
    });

    /** weights.bin answered by `answer` (the manifest as it is), each request's Range header recorded. */
    const weightsBy = (answer: (range: string | undefined, res: ServerResponse, nth: number) => void) => {
      const ranges: (string | undefined)[] = [];
      const routes = {
        ...files({ 'manifest.json': manifestOf({ 'weights.bin': weights }), 'weights.bin': weights }),
        [`GET ${CKPT}/download`]: ((req, res, url) => {
          if (url.searchParams.get('file') === MANIFEST)
            return body(manifestOf({ 'weights.bin': weights }))(req, res, url);
          ranges.push(req.headers.range);
          answer(req.headers.range, res, ranges.length);
        }) as Route,
      };
      return { routes, ranges };
    };
    /** The first half of weights.bin, then the connection gone (an API restarted mid-file). */
    const dropsHalfway = (res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(weights.length) });
      res.write(weights.subarray(0, weights.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
    };
    const quickly = downloadCommandWith({ reconnectDelaysMs: [50, 50, 50] });
    const downloadQuickly = (...args: string[]) =>
      cliCommand(quickly, [RUN, '--checkpoint', '1', ...args], { TRAINYARD_URL: api!.url, XDG_CONFIG_HOME: home });

    it('asks for the rest of a file the connection cut short (Range), keeping what it has, and verifies it whole', async () => {
      const { routes, ranges } = weightsBy((range, res, nth) => {
        if (nth === 1) return dropsHalfway(res);
        const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]);
        res.writeHead(206, {
          'content-type': 'application/octet-stream',
          'content-length': String(weights.length - from),
          'content-range': `bytes ${from}-${weights.length - 1}/${weights.length}`,
        });
        res.end(weights.subarray(from));
      });
      api = await scriptedApi(routes);
      const result = await downloadQuickly('--out', join(home, 'resumed'));
      expect(result).toMatchObject({ code: EXIT.OK });
      expect(result.stderr).toMatch(
        /^trainyard: weights\.bin: the connection to the API dropped: \S+; the rest asked for again in 0\.1 s \(1 of 3\)\n$/,
      );
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBeUndefined();
      const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(weights.length >> 1);
      expect(readFileSync(join(home, 'resumed', 'weights.bin')).equals(weights)).toBe(true);
      expect(result.stdout).toContain('sha256 verified against manifest.json: 1 of 1 files');
    });

    it('starts a file over when the server answers the rest with the whole file', async () => {
      const { routes, ranges } = weightsBy((_range, res, nth) =>
        nth === 1 ? dropsHalfway(res) : body(weights)(null!, res, null!),
      );
      api = await scriptedApi(routes);
      const result = await downloadQuickly('--out', join(home, 'restarted'));
      expect(result).toMatchObject({ code: EXIT.OK });
      expect(ranges[1]).toMatch(/^bytes=\d+-$/);
      expect(readFileSync(join(home, 'restarted', 'weights.bin')).equals(weights)).toBe(true);
    });

    it('leaves nothing when the connection drops at the same byte every time', async () => {
      // Bytes it already had are no progress: a server that always stops at one place spends the tries.
      const { routes, ranges } = weightsBy((_range, res) => dropsHalfway(res));
      api = await scriptedApi(routes);
      const result = await downloadQuickly('--out', join(home, 'dropped'));
      expect(result.code).toBe(EXIT.API);
      expect(result.stderr.match(/the rest asked for again/g)).toHaveLength(3);
      expect(result.stderr).toMatch(/\ntrainyard: the connection to the API dropped: \S+\n$/);
      expect(ranges).toHaveLength(4);
      expect(leftIn(home, 'dropped')).toEqual([]);
    });

    it('refuses an --out folder that is not empty, or a file, before anything is fetched (exit 1)', async () => {
      api = await scriptedApi(files({ 'model.json': model }));
      const full = join(home, 'full');
      mkdirSync(full);
      writeFileSync(join(full, 'model.json'), 'another checkpoint');
      const result = await download('--out', full, '--json');
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain(`--out ${full} is not empty (1 entry)`);
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { errors: [{ field: '--out' }] } });
      const afile = join(home, 'a-file');
      writeFileSync(afile, '');
      expect(await download('--out', afile)).toMatchObject({
        code: EXIT.USAGE,
        stderr: `trainyard: --out ${afile} is a file, not a folder\n`,
      });
      // --force replaces an archive only: a folder download never replaces a folder.
      expect(await download('--out', join(home, 'forced'), '--force')).toMatchObject({
        code: EXIT.USAGE,
        stderr: 'trainyard: --force goes with --archive (a folder download never replaces a folder)\n',
      });
      expect(api.seen).toEqual([]);
      expect(readdirSync(full)).toEqual(['model.json']);
      // An empty folder is free.
      mkdirSync(join(home, 'empty'));
      expect((await download('--out', join(home, 'empty'))).code).toBe(EXIT.OK);
      expect(readdirSync(join(home, 'empty'))).toEqual(['model.json']);
    });

    it('refuses the default folder when it is not empty, having fetched only the checkpoint list', async () => {
      const cwd = process.cwd();
      const own = mkdtempSync(join(tmpdir(), 'trainyard-download-cwd-'));
      try {
        process.chdir(own);
        mkdirSync(join(own, `${RUN.slice(0, 8)}-ckpt1`));
        writeFileSync(join(own, `${RUN.slice(0, 8)}-ckpt1`, 'x'), '');
        api = await scriptedApi({
          ...files({ 'model.json': model }),
          [`GET /v1/runs/${RUN}/checkpoints`]: json({ checkpoints: [{ sequence: 1, status: 'COMPLETE' }] }),
        });
        const result = await cli(['download', RUN], { TRAINYARD_URL: api.url, XDG_CONFIG_HOME: home });
        expect(result.code).toBe(EXIT.USAGE);
        expect(result.stderr).toContain('(the default folder) is not empty');
        expect(api.seen).toEqual([`GET /v1/runs/${RUN}/checkpoints`]);
      } finally {
        process.chdir(cwd);
        rmSync(own, { recursive: true, force: true });
      }
    });

    it('two downloads into one new folder: one fills it, the other says so; never a mix, nothing left over', async () => {
      const listing = { 'manifest.json': manifestOf({ 'model.json': model }), 'model.json': model };
      api = await scriptedApi({
        ...files(listing),
        // Slow answers: both downloads are under way before either is done.
        [`GET ${CKPT}/download`]: (req, res, url) =>
          void setTimeout(
            () => body(listing[url.searchParams.get('file') as keyof typeof listing])(req, res, url),
            100,
          ),
      });
      const out = join(home, 'two-at-once');
      const results = await Promise.all([download('--out', out), download('--out', out)]);
      expect(results.map((r) => r.code).sort()).toEqual([EXIT.OK, EXIT.LOCAL_IO]);
      expect(results.find((r) => r.code === EXIT.LOCAL_IO)!.stderr).toBe(
        `trainyard: ${out} was filled while the checkpoint downloaded (another download into it?): its files were verified, not kept\n`,
      );
      expect(readdirSync(out).sort()).toEqual(['manifest.json', 'model.json']);
      expect(leftIn(home, 'two-at-once')).toEqual(['two-at-once']);
    });

    it('exits 5 naming manifest.json when it is not JSON (no stack trace)', async () => {
      api = await scriptedApi(files({ 'manifest.json': Buffer.from('{"files": '), 'model.json': model }));
      const result = await download('--out', join(home, 'damaged'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toMatch(/damaged\/manifest\.json: not valid JSON/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it('exits 130 when interrupted, the progress line ended first, nothing left', async () => {
      api = await scriptedApi({
        [`GET ${CKPT}/files`]: json({ files: [{ file: 'weights.bin', bytes: weights.length }] }),
        [`GET ${CKPT}/download`]: stalls(weights),
      });
      const result = await interrupted('--out', join(home, 'interrupted'));
      expect(result).toMatchObject({ code: EXIT.INTERRUPTED, stderr: 'trainyard: interrupted\n' });
      expect(result.stdout).toMatch(/\n$/);
      expect(leftIn(home, 'interrupted')).toEqual([]);
    }, 15_000);

    it('exits 5 when manifest.json is JSON but lists no files', async () => {
      api = await scriptedApi(files({ 'manifest.json': Buffer.from('{"version": 1}'), 'model.json': model }));
      const result = await download('--out', join(home, 'not-a-manifest'));
      expect(result.code).toBe(EXIT.CHECKSUM);
      expect(result.stderr).toMatch(/not-a-manifest\/manifest\.json: not a checkpoint manifest/);
    });
  });

  describe('partial downloads a killed download left (kill -9)', () => {
    const listing = { 'manifest.json': manifestOf({ 'model.json': model }), 'model.json': model };
    const files: Record<string, Route> = {
      [`GET ${CKPT}/files`]: json({ files: Object.entries(listing).map(([file, b]) => ({ file, bytes: b.length })) }),
      [`GET ${CKPT}/download`]: (req, res, url) =>
        body(listing[url.searchParams.get('file') as keyof typeof listing])(req, res, url),
    };
    /** Sets the modification time of `paths` to `ms` ago. */
    const age = (ms: number, ...paths: string[]) => {
      const then = new Date(Date.now() - ms);
      for (const path of paths) utimesSync(path, then, then);
    };

    it('the next download to the same folder removes its stale .part-XXXXXX siblings, naming them; nothing else', async () => {
      api = await scriptedApi(files);
      const place = join(home, 'killed');
      mkdirSync(place);
      const out = join(place, 'ckpt');
      const stale = `${out}.part-Ab3dE9`;
      mkdirSync(stale);
      writeFileSync(join(stale, 'weights.bin'), 'half a file');
      // In use: the folder is old but a file in it is being written (another download).
      const live = `${out}.part-Zz9Yy8`;
      mkdirSync(live);
      writeFileSync(join(live, 'weights.bin'), 'being written');
      // Not a download's: another shape of name, another destination, a link.
      const others = [`${out}.part-abc`, `${out}.partial`, `${join(place, 'other')}.part-Ab3dE9`, `${out}.part-Ln1k00`];
      for (const other of others.slice(0, 3)) writeFileSync(other, '');
      symlinkSync(stale, others[3]!);
      age(STALE_PART_AGE_MS + 60_000, join(stale, 'weights.bin'), stale, live, ...others.slice(0, 3));

      const result = await download('--out', out);
      expect(result.code).toBe(EXIT.OK);
      expect(result.stderr).toBe(
        `trainyard: removed ${stale}, left by an interrupted download (unchanged for 11 min)\n`,
      );
      expect(readdirSync(place).sort()).toEqual(
        ['ckpt', ...[live, ...others].map((p) => p.slice(place.length + 1))].sort(),
      );
    });

    it('a download under way beside it keeps its partial folder (changed lately)', async () => {
      api = await scriptedApi(files);
      const out = join(home, 'busy');
      const recent = `${out}.part-Q1w2E3`;
      mkdirSync(recent);
      age(STALE_PART_AGE_MS - 60_000, recent);
      expect(await download('--out', out)).toMatchObject({ code: EXIT.OK, stderr: '' });
      expect(existsSync(recent)).toBe(true);
    });

    it('an --archive download removes a stale partial .tar of the same name', async () => {
      const bytes = await tar([
        ['manifest.json', manifestOf({ 'model.json': model })],
        ['model.json', model],
      ]);
      api = await scriptedApi({ [`GET ${CKPT}/archive`]: body(bytes) });
      const out = join(home, 'killed-archive.tar');
      const stale = `${out}.part-0a1b2c`;
      writeFileSync(stale, bytes.subarray(0, 100));
      age(2 * STALE_PART_AGE_MS, stale);
      const result = await download('--archive', '--out', out);
      expect(result.code).toBe(EXIT.OK);
      expect(result.stderr).toBe(
        `trainyard: removed ${stale}, left by an interrupted download (unchanged for 20 min)\n`,
      );
      expect(leftIn(home, 'killed-archive.tar')).toEqual(['killed-archive.tar']);
    }, 15_000);
  });

  describe('a local folder that cannot be written', () => {
    const afile = join(home, 'afile');
    beforeAll(() => writeFileSync(afile, 'not a folder'));
    const files = { [`GET ${CKPT}/files`]: json({ files: [{ file: 'model.json', bytes: model.length }] }) };

    it.each([
      [['--out', join(afile, 'sub')], afile, 'a file of that name is in the way (EEXIST)'],
      [['--archive', '--out', join(afile, 'x.tar')], afile, 'a file of that name is in the way (EEXIST)'],
    ])('%j: one line naming the path and why, exit 7, one JSON object with --json', async (args, path, why) => {
      api = await scriptedApi({
        ...files,
        [`GET ${CKPT}/download`]: body(model),
        [`GET ${CKPT}/archive`]: body(model),
      });
      const result = await download(...args);
      expect(result.code).toBe(EXIT.LOCAL_IO);
      expect(result.stderr).toMatch(new RegExp(`^trainyard: cannot create the folder ${path}: .*\\n$`));
      expect(result.stderr).toContain(why);
      const asJson = await download(...args, '--json');
      expect(asJson.code).toBe(EXIT.LOCAL_IO);
      expect(JSON.parse(asJson.stdout)).toMatchObject({ error: { title: 'Local file error', path } });
    });
  });
});
