import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  internalFolderOfPath,
  internalPrefixOf,
  isUploadFolder,
  recordedDatasetPrefixProblem,
  uploadFolder,
} from './internal-prefixes';
import { LocalObjectStore } from './local-object-store';
import { locateModelFile, ModelUriRefusedError } from './model-uri';
import { S3ObjectStore } from './s3-object-store';

const upload = uploadFolder('6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5');

describe('internal prefixes of the store', () => {
  it.each([
    ['runs/', 'runs/'],
    ['runs', 'runs/'],
    ['runs/0b6c7a8e/checkpoints/3/encoder/model.json', 'runs/'],
    ['runs/x/logs/', 'runs/'],
    ['datasets/uploads', 'datasets/uploads/'],
    ['datasets/uploads/', 'datasets/uploads/'],
    [`${upload}cat/`, 'datasets/uploads/'],
    ['datasets/packed/manifests/abc.json', 'datasets/packed/'],
    // Folders that hold one: listing them lists every project's files.
    ['datasets/', 'datasets/uploads/'],
    ['datasets', 'datasets/uploads/'],
    ['', 'runs/'],
    ['/', 'runs/'],
    // Other spellings a store may read as the same place.
    ['RUNS/', 'runs/'],
    ['Runs/x/model.json', 'runs/'],
    ['Datasets/UPLOADS/', 'datasets/uploads/'],
    ['/runs/', 'runs/'],
    ['./runs/', 'runs/'],
    ['a/../runs/', 'runs/'],
    ['datasets/flowers/../uploads/', 'datasets/uploads/'],
    ['datasets//uploads/', 'datasets/uploads/'],
    ['datasets\\uploads\\', 'datasets/uploads/'],
    ['datasets%2Fuploads/', 'datasets/uploads/'],
    ['datasets%2fuploads%2F', 'datasets/uploads/'],
    ['datasets%252Fuploads/', 'datasets/uploads/'],
    ['%72uns/', 'runs/'],
    ['x%2F..%2Fruns/', 'runs/'],
    ['\uff52\uff55\uff4e\uff53/', 'runs/'], // fullwidth
    ['run\u017f/', 'runs/'], // long s
    ['ru\u200bns/', 'runs/'], // zero-width space
    ['runs./', 'runs/'],
    ['runs /', 'runs/'],
  ])('%j is in or holds %s', (key, prefix) => {
    expect(internalPrefixOf(key)?.prefix).toBe(prefix);
  });

  it.each([
    'datasets/flowers/',
    'datasets/uploads-mine/',
    'datasets/packedx/',
    'runsets/',
    'my/runs/',
    'team/datasets/uploads/',
    'imported/vgg/model.json',
    'a%2Fb/',
    '%zz/',
  ])('%j is a folder of its own', (key) => {
    expect(internalPrefixOf(key)).toBeNull();
  });

  it('lets a recorded dataset read exactly one upload folder, nothing else Trainyard writes', () => {
    expect(isUploadFolder(upload)).toBe(true);
    expect(recordedDatasetPrefixProblem(upload)).toBeNull();
    expect(recordedDatasetPrefixProblem('datasets/flowers/')).toBeNull();
    for (const prefix of ['datasets/uploads/', `${upload}cat/`, 'datasets/uploads/x/', 'runs/', 'datasets/']) {
      expect({ prefix, ok: isUploadFolder(prefix) }).toEqual({ prefix, ok: false });
      expect(recordedDatasetPrefixProblem(prefix)).toMatch(/^is in or holds (runs|datasets\/uploads)\//);
    }
  });

  describe('local paths and model URIs', () => {
    let base: string;
    let store: LocalObjectStore;
    let objects: string;

    beforeAll(() => {
      base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-internal-')));
      objects = join(base, 'home', 'objects');
      for (const dir of ['runs/r1/checkpoints/1/encoder', 'datasets/flowers/a', 'imported/vgg'])
        mkdirSync(join(objects, dir), { recursive: true });
      writeFileSync(join(objects, 'runs/r1/checkpoints/1/encoder/model.json'), '{}');
      writeFileSync(join(objects, 'imported/vgg/model.json'), '{}');
      mkdirSync(join(base, 'elsewhere'));
      symlinkSync(join(objects, 'runs'), join(base, 'elsewhere', 'link'));
      store = new LocalObjectStore(objects);
    });
    afterAll(() => rmSync(base, { recursive: true, force: true }));

    it('finds a local path in, or holding, a local store’s internal folders', async () => {
      expect((await internalFolderOfPath(join(objects, 'runs', 'r1'), store))?.prefix).toBe('runs/');
      expect((await internalFolderOfPath(join(objects, 'RUNS'), store))?.prefix).toBe('runs/');
      expect((await internalFolderOfPath(join(objects, 'datasets'), store))?.prefix).toBe('datasets/uploads/');
      expect((await internalFolderOfPath(objects, store))?.prefix).toBe('runs/');
      expect((await internalFolderOfPath(base, store))?.prefix).toBe('runs/');
      expect(await internalFolderOfPath(join(objects, 'datasets', 'flowers'), store)).toBeNull();
      expect(await internalFolderOfPath(join(base, 'elsewhere'), store)).toBeNull();
      const s3 = new S3ObjectStore({ endpoint: 'http://127.0.0.1:9', accessKey: 'a', secretKey: 'b', bucket: 'b' });
      expect(await internalFolderOfPath(join(objects, 'runs'), s3)).toBeNull();
    });

    it('refuses a model URI naming a run’s weights, however it is spelt, and reads one of your own', async () => {
      const roots = [base];
      const refused = [
        store.uri('runs/r1/checkpoints/1/encoder/model.json'),
        store.uri('Runs/r1/checkpoints/1/encoder/model.json'),
        store.uri('%72uns/r1/checkpoints/1/encoder/model.json'),
        store.uri('datasets/uploads/x/model.json'),
        // Outside the store's own URI, through the roots: a path, a file URI, a link.
        join(objects, 'runs/r1/checkpoints/1/encoder/model.json'),
        pathToFileURL(join(objects, 'runs/r1/checkpoints/1/encoder/model.json')).href,
        `file://localhost${join(objects, 'runs/r1/checkpoints/1/encoder/model.json')}`,
        join(base, 'elsewhere', 'link', 'r1/checkpoints/1/encoder/model.json'),
      ];
      for (const uri of refused) {
        const error = await locateModelFile(uri, store, roots).catch((e: unknown) => e);
        expect({ uri, error }).toEqual({ uri, error: expect.any(ModelUriRefusedError) });
        expect((error as Error).message).toMatch(/is in or holds (the object store's )?(runs|datasets\/uploads)\//);
      }
      await expect(locateModelFile(store.uri('imported/vgg/model.json'), store, roots)).resolves.toEqual({
        kind: 'store',
        key: 'imported/vgg/model.json',
      });
      const s3 = new S3ObjectStore({ endpoint: 'http://127.0.0.1:9', accessKey: 'a', secretKey: 'b', bucket: 'b' });
      for (const key of [
        'runs/r1/checkpoints/1/encoder/model.json',
        'datasets/packed/x/model.json',
        'RUNS/x/model.json',
      ])
        await expect(locateModelFile(s3.uri(key), s3, [])).rejects.toBeInstanceOf(ModelUriRefusedError);
      await expect(locateModelFile(s3.uri('imported/vgg/model.json'), s3, [])).resolves.toMatchObject({
        kind: 'store',
      });
    });
  });
});
