import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalObjectStore } from './local-object-store';
import {
  importedModelIOHandler,
  locateModelFile,
  ModelFileRefusedError,
  ModelUriRefusedError,
  weightPathProblem,
} from './model-uri';

/** A model.json whose one weight group lists `paths` (two float32 weights per file). */
function modelJson(paths: unknown[]): string {
  return JSON.stringify({
    modelTopology: { class_name: 'Sequential', config: { layers: [] } },
    format: 'layers-model',
    weightsManifest: [{ paths, weights: paths.map((_, i) => ({ name: `w${i}`, shape: [2], dtype: 'float32' })) }],
  });
}

const WEIGHTS = Buffer.from(new Float32Array([1.5, -2]).buffer);
const SECRET = 'TOP-SECRET-CONTENT';

describe('imported models: model.json names the folder, and every weight file is read only inside it', () => {
  let base: string;
  let root: string;
  let objects: string;
  let store: LocalObjectStore;
  let roots: string[];
  const victim = 'runs/victim/checkpoints/1/classifier/weights.bin';

  /** Writes a local model folder under the roots: model.json listing `paths`, plus `files`. */
  function localModel(name: string, paths: unknown[], files: Record<string, Buffer | string> = {}): string {
    const dir = join(root, 'models', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.json'), modelJson(paths));
    for (const [file, bytes] of Object.entries(files)) writeFileSync(join(dir, file), bytes);
    return join(dir, 'model.json');
  }

  async function load(uri: string): Promise<unknown> {
    const location = await locateModelFile(uri, store, roots);
    return importedModelIOHandler(location, store).load!().catch((e: unknown) => e);
  }

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-model-files-')));
    root = join(base, 'root');
    // The demo's layout: the local object store lies inside a folder TRAINYARD_LOCAL_ROOTS names.
    objects = join(root, 'objects');
    store = new LocalObjectStore(objects);
    roots = [root];
    mkdirSync(join(objects, 'runs/victim/checkpoints/1/classifier'), { recursive: true });
    writeFileSync(join(objects, victim), 'VICTIM-WEIGHTS!!');
    writeFileSync(join(base, 'secret.bin'), SECRET);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('refuses a URI whose last segment is not exactly model.json, in the store and on disk', async () => {
    for (const uri of [
      store.uri('runsmodel.json'),
      store.uri('imported/vggmodel.json'),
      store.uri('imported/vgg/my-model.json'),
      join(root, 'models', 'vggmodel.json'),
      pathToFileURL(join(root, 'runsmodel.json')).href,
    ]) {
      const error = await locateModelFile(uri, store, roots).catch((e: unknown) => e);
      expect({ uri, error }).toEqual({ uri, error: expect.any(ModelUriRefusedError) });
      expect((error as Error).message).toBe('does not name a file called model.json (expected …/model.json)');
    }
    await expect(locateModelFile(store.uri('model.json'), store, roots)).resolves.toEqual({
      kind: 'store',
      key: 'model.json',
    });
    // A location recorded before the rule (a forged one) is refused where it is read, too.
    const forged = await importedModelIOHandler({ kind: 'store', key: 'runsmodel.json' }, store).load!().catch(
      (e: unknown) => e,
    );
    expect(forged).toBeInstanceOf(ModelUriRefusedError);
  });

  it('takes only plain relative weight paths', () => {
    for (const ok of ['weights.bin', 'group1-shard1of2.bin', 'shards/1.bin', 'a b.bin', 'x..bin', '50%.bin'])
      expect({ ok, problem: weightPathProblem(ok) }).toEqual({ ok, problem: null });
    const hostile: [unknown, RegExp][] = [
      ['../../secret.bin', /"\.\." segment/],
      ['shards/../../x', /"\.\." segment/],
      ['./weights.bin', /"\." segment/],
      ['/etc/shadow', /absolute/],
      ['/victim/checkpoints/1/classifier/weights.bin', /absolute/],
      ['..\\..\\secret.bin', /contains "\\"/],
      ['weights.bin\0.png', /control character/],
      ['weights\n.bin', /control character/],
      ['\ud800.bin', /surrogate/],
      ['%2e%2e/secret.bin', /%-escape/],
      ['..%2F..%2Fsecret.bin', /%-escape/],
      ['%252e%252e/x', /%-escape/],
      ['a//b.bin', /empty path segment/],
      ['shards/', /empty path segment/],
      ['', /empty/],
      ['x'.repeat(1025), /longer than 1024/],
      [42, /not a file name/],
      [null, /not a file name/],
    ];
    for (const [path, reason] of hostile)
      expect({ path, problem: weightPathProblem(path) }).toEqual({ path, problem: expect.stringMatching(reason) });
  });

  it('reads a local model’s model.json and its weights, links inside its folder included', async () => {
    const uri = localModel('good', ['weights.bin', 'shards/1.bin', 'alias.bin'], { 'weights.bin': WEIGHTS });
    mkdirSync(join(root, 'models/good/shards'));
    writeFileSync(join(root, 'models/good/shards/1.bin'), WEIGHTS);
    symlinkSync('weights.bin', join(root, 'models/good/alias.bin'));
    const artifacts = (await load(uri)) as { weightData: ArrayBuffer; weightSpecs: unknown[] };
    expect(Array.from(new Float32Array(artifacts.weightData))).toEqual([1.5, -2, 1.5, -2, 1.5, -2]);
    expect(artifacts.weightSpecs).toHaveLength(3);
  });

  it('refuses a local weight file that links out of the folder, whether the target exists or not, never quoting it', async () => {
    const targets = [
      join(base, 'secret.bin'), // outside the roots
      '/etc/shadow',
      '/etc/passwd',
      join(objects, victim), // another run's weights, inside the roots
      join(base, 'nothing-here.bin'), // dangling: the same answer as a link to a file that exists
      join(root, 'models'), // a folder above
    ];
    const messages = new Set<string>();
    for (const [i, target] of targets.entries()) {
      const uri = localModel(`link${i}`, ['weights.bin']);
      symlinkSync(target, join(root, `models/link${i}/weights.bin`));
      const error = await load(uri);
      expect({ target, error }).toEqual({ target, error: expect.any(ModelFileRefusedError) });
      expect((error as Error).message).not.toMatch(/TOP-SECRET|VICTIM|root:/);
      messages.add((error as Error).message);
    }
    expect([...messages]).toEqual([
      'weight file "weights.bin" listed in its model.json is not a file inside the model\'s folder (a link out of it is not followed)',
    ]);
    // A linked folder leads out as surely as a linked file.
    const uri = localModel('linked-folder', ['ckpt/weights.bin']);
    symlinkSync(join(objects, 'runs/victim/checkpoints/1/classifier'), join(root, 'models/linked-folder/ckpt'));
    await expect(load(uri)).resolves.toMatchObject({
      message: expect.stringMatching(/"ckpt\/weights\.bin".*a link out/),
    });
  });

  it('refuses paths that climb, are absolute or hide a NUL or an escape, before reading anything', async () => {
    for (const path of [
      '../../secret.bin',
      '../link0/weights.bin',
      join(base, 'secret.bin'),
      'weights.bin\0',
      '%2e%2e/%2e%2e/secret.bin',
      '..\\..\\secret.bin',
    ]) {
      const uri = localModel('climb', ['weights.bin', path], { 'weights.bin': WEIGHTS });
      const error = await load(uri);
      expect({ path, error }).toEqual({ path, error: expect.any(ModelFileRefusedError) });
      expect((error as ModelFileRefusedError).file).toEqual({ kind: 'weights', path });
      expect((error as Error).message).toMatch(/^weight file ".*" listed in its model\.json is not read: it /);
    }
  });

  it('refuses a FIFO or a folder as a weight file without hanging, and says a missing one is missing', async () => {
    const uri = localModel('odd', ['pipe.bin']);
    execFileSync('mkfifo', [join(root, 'models/odd/pipe.bin')]);
    await expect(load(uri)).resolves.toMatchObject({
      message: expect.stringMatching(/"pipe\.bin".*not a regular file/),
    });
    const folder = localModel('folder', ['sub']);
    mkdirSync(join(root, 'models/folder/sub'));
    await expect(load(folder)).resolves.toMatchObject({ message: expect.stringMatching(/"sub".*not a regular file/) });
    const missing = localModel('missing', ['weights.bin']);
    await expect(load(missing)).resolves.toMatchObject({
      message: 'weight file "weights.bin" listed in its model.json does not exist in the model\'s folder',
    });
  });

  it('reads the model.json that was checked, not another file of that name beside its real path', async () => {
    // models/lnk/model.json → ../real/vgg.json; models/real/model.json → the secret. Reading
    // `<real folder>/model.json` would read the secret.
    const real = join(root, 'models', 'real');
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'vgg.json'), modelJson(['weights.bin']));
    writeFileSync(join(real, 'weights.bin'), WEIGHTS);
    symlinkSync(join(base, 'secret.bin'), join(real, 'model.json'));
    mkdirSync(join(root, 'models', 'lnk'));
    symlinkSync('../real/vgg.json', join(root, 'models', 'lnk', 'model.json'));
    const artifacts = (await load(join(root, 'models', 'lnk', 'model.json'))) as { weightData: ArrayBuffer };
    expect(Array.from(new Float32Array(artifacts.weightData))).toEqual([1.5, -2]);
  });

  it('refuses weights in a folder no project owns: a model.json at the local store’s root reached through the roots', async () => {
    writeFileSync(join(objects, 'model.json'), modelJson([victim]));
    for (const uri of [join(objects, 'model.json'), store.uri('model.json')]) {
      const error = await load(uri);
      expect({ uri, error }).toEqual({ uri, error: expect.any(ModelFileRefusedError) });
      expect((error as Error).message).toMatch(
        /^weight file "runs\/victim\/checkpoints\/1\/classifier\/weights\.bin" listed in its model\.json is not read: .*runs\//,
      );
    }
  });

  it('refuses, before reading them, weights past IMPORTED_WEIGHTS_MAX_BYTES, a weight file past what its manifest leaves, a model.json past MODEL_JSON_MAX_BYTES', async () => {
    // Declared past the bound: refused from the manifest (its file does not even exist, so a read would say missing).
    const huge = join(root, 'models', 'huge');
    mkdirSync(huge, { recursive: true });
    writeFileSync(
      join(huge, 'model.json'),
      JSON.stringify({
        modelTopology: { class_name: 'Sequential', config: { layers: [] } },
        format: 'layers-model',
        weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [2 ** 30 + 1], dtype: 'float32' }] }],
      }),
    );
    const declared = await load(pathToFileURL(join(huge, 'model.json')).href);
    expect(declared).toBeInstanceOf(ModelFileRefusedError);
    expect((declared as Error).message).toMatch(
      /^model\.json lists weights of 4294967300 bytes; .*IMPORTED_WEIGHTS_MAX_BYTES/,
    );

    // A weight file far larger than its manifest's 8 bytes (sparse: nothing written): refused by its size.
    const long = localModel('long', ['weights.bin'], { 'weights.bin': '' });
    truncateSync(join(root, 'models', 'long', 'weights.bin'), 2 ** 30);
    const tooLong = await load(pathToFileURL(long).href);
    expect(tooLong).toBeInstanceOf(ModelFileRefusedError);
    expect((tooLong as Error).message).toMatch(/^weight file "weights\.bin" .* is 1073741824 bytes, more than the 8 /);

    // A model.json of 65 MiB (sparse), in the local store by key and on disk by path.
    for (const dir of [join(objects, 'imported', 'big-json'), join(root, 'models', 'big-json')]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.json'), '');
      truncateSync(join(dir, 'model.json'), 65 * 2 ** 20);
    }
    for (const uri of [
      store.uri('imported/big-json/model.json'),
      pathToFileURL(join(root, 'models', 'big-json', 'model.json')).href,
    ]) {
      const error = await load(uri);
      expect({ uri, error }).toEqual({ uri, error: expect.any(ModelFileRefusedError) });
      expect((error as Error).message).toMatch(/^model\.json is 68157440 bytes; a model\.json may be at most 67108864/);
    }
  });

  it('reads a model in the local store by its keys only, following no link under the store', async () => {
    mkdirSync(join(objects, 'imported/vgg'), { recursive: true });
    writeFileSync(join(objects, 'imported/vgg/model.json'), modelJson(['weights.bin']));
    writeFileSync(join(objects, 'imported/vgg/weights.bin'), WEIGHTS);
    const good = (await load(store.uri('imported/vgg/model.json'))) as { weightData: ArrayBuffer };
    expect(Array.from(new Float32Array(good.weightData))).toEqual([1.5, -2]);

    mkdirSync(join(objects, 'imported/evil'), { recursive: true });
    writeFileSync(join(objects, 'imported/evil/model.json'), modelJson(['weights.bin']));
    symlinkSync(`../../${victim}`, join(objects, 'imported/evil/weights.bin'));
    const error = await load(store.uri('imported/evil/model.json'));
    expect(error).toBeInstanceOf(ModelFileRefusedError);
    expect((error as Error).message).not.toMatch(/VICTIM/);

    mkdirSync(join(objects, 'imported/json-link'), { recursive: true });
    symlinkSync(join(base, 'secret.bin'), join(objects, 'imported/json-link/model.json'));
    const json = await load(store.uri('imported/json-link/model.json'));
    expect(json).toBeInstanceOf(ModelFileRefusedError);
    expect((json as Error).message).toMatch(/^model\.json is not a file inside/);
  });
});
