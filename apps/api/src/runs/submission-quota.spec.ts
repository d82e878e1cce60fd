import { HttpException } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { RunSpecSchema } from '@trainyard/contracts';
import type { ProjectLoad } from '@trainyard/db';
import {
  datasetMemory,
  datasetMemoryErrors,
  IN_MEMORY_PEAK_BYTES_PER_PIXEL,
  placeError,
  SubmissionQuota,
} from './submission-quota';

const GiB = 1024 ** 3;
const datasetId = '3f0c9c52-2c1f-4d7e-9a56-0d4f0b6b8a11';
// On a base: the built-in encoder takes at most 256 pixels a side, and the images counted here are larger.
const finetune = (dataset: Record<string, unknown>) =>
  RunSpecSchema.parse({
    kind: 'finetune',
    name: 'f',
    dataset: { name: 'image-folder', datasetId, ...dataset },
    model: { type: 'classifier', importedModel: { uri: 'file:///models/vgg/model.json' } },
  });
const streamed = { version: 'ab'.repeat(32) };

describe('the decoded images an image-folder run holds in a worker (QUOTA_IN_MEMORY_DATASET_BYTES)', () => {
  it('counts a folder loaded whole at 9 bytes per pixel: the audit’s 20,000 8×8 PNGs at 512×512×3 are 141 GB', () => {
    const spec = finetune({ imageShape: [512, 512, 3] });
    const held = datasetMemory(spec, { folderImages: 20_000, folderClasses: 2 });
    expect(held).toEqual({ bytes: 20_000 * 512 * 512 * 3 * 9, images: 20_000, streamed: false });
    expect(IN_MEMORY_PEAK_BYTES_PER_PIXEL).toBe(9);
    expect(datasetMemoryErrors(spec, { folderImages: 20_000, folderClasses: 2 }, 4 * GiB)).toEqual([
      {
        field: 'dataset.imageShape',
        message: expect.stringMatching(
          /20,000 images at 512×512×3 .* up to 131\.8 GiB .*the limit is 4 GiB \(QUOTA_IN_MEMORY_DATASET_BYTES\)\. Stream a packed version/,
        ),
      },
    ]);
    // The same folder at a small shape fits: 20,000 × 16×16×3 × 9 = 138 MB.
    expect(
      datasetMemoryErrors(finetune({ imageShape: [16, 16, 3] }), { folderImages: 20_000, folderClasses: 2 }, 4 * GiB),
    ).toEqual([]);
    // At the limit exactly it fits; a byte less does not.
    const exact = 20_000 * 16 * 16 * 3 * 9;
    const small = finetune({ imageShape: [16, 16, 3] });
    expect(datasetMemoryErrors(small, { folderImages: 20_000, folderClasses: 2 }, exact)).toEqual([]);
    expect(datasetMemoryErrors(small, { folderImages: 20_000, folderClasses: 2 }, exact - 1)).toHaveLength(1);
  });

  it('counts a streamed version’s holdouts (rounded per class, at most half an image over each share per class) and its 256-image sample', () => {
    const spec = finetune({ imageShape: [224, 224, 3], split: { validation: 0.1, test: 0.2 }, stream: streamed });
    // 10,000 images in 10 classes: validation ≤ 1,000 + 5, test ≤ 2,000 + 5, sample 256; the largest copied once more.
    const held = datasetMemory(spec, { folderImages: 10_000, folderClasses: 10 });
    expect(held).toEqual({ bytes: (1005 + 2005 + 256 + 2005) * 224 * 224 * 3 * 4, images: 3266, streamed: true });
    expect(datasetMemoryErrors(spec, { folderImages: 10_000, folderClasses: 10 }, 4 * GiB)).toEqual([]);
    expect(datasetMemoryErrors(spec, { folderImages: 10_000, folderClasses: 10 }, 2 * GiB)).toEqual([
      {
        field: 'dataset.split',
        message: expect.stringMatching(
          /up to 3,266 images at 224×224×3, 3 GiB; the limit is 2 GiB.*Hold out smaller shares/,
        ),
      },
    ]);
    // The training images are streamed, never held: 10 million of them hold no more than their holdouts.
    const tiny = finetune({ imageShape: [224, 224, 3], split: { validation: 0.0001, test: 0.0001 }, stream: streamed });
    expect(datasetMemory(tiny, { folderImages: 10_000_000, folderClasses: 2 })!.images).toBe(1001 + 1001 + 256);
    // A version smaller than its sample: 3 images in 2 classes hold out at most ⌈0.3 + 1⌉ and ⌈0.6 + 1⌉, sample 3.
    expect(datasetMemory(spec, { folderImages: 3, folderClasses: 2 })!.images).toBe(2 + 2 + 3);
  });

  it('holds nothing for built-in datasets', () => {
    const mnist = RunSpecSchema.parse({ kind: 'pretrain', name: 'p', dataset: { name: 'mnist' } });
    expect(datasetMemory(mnist, { folderImages: null, folderClasses: null })).toBeNull();
    expect(datasetMemoryErrors(mnist, { folderImages: null, folderClasses: null }, 1)).toEqual([]);
  });
});

describe("a project's limits, as the check made where runs are recorded", () => {
  const quota = new SubmissionQuota({ limits: { queuedRunsPerProject: 3, maxPriority: 50 } } as TrainyardConfig);
  const load = (waiting: number, maxQueued: number | null, maxPriority: number | null = null): ProjectLoad => ({
    project: 'vision',
    maxRunning: null,
    maxQueued,
    maxPriority,
    maxUploadBytes: null,
    running: 0,
    waiting,
    checkpointBytes: 0,
  });
  const runs = (n: number, priority?: number) => Array.from({ length: n }, () => ({ spec: { priority } }));
  const refusal = (check: () => void) => {
    try {
      check();
    } catch (err) {
      return { status: (err as HttpException).getStatus(), body: (err as HttpException).getResponse() };
    }
    return null;
  };

  it('admits runs up to the quota exactly, and refuses one more with 429 naming project', () => {
    expect(refusal(() => quota.projectLimits('vision', runs(2))(load(1, null)))).toBeNull();
    expect(refusal(() => quota.projectLimits('vision', runs(2))(load(2, null)))).toEqual({
      status: 429,
      body: {
        message:
          'Project "vision" has 2 runs waiting; 2 more would pass its quota of 3 (QUOTA_QUEUED_RUNS). Submit again as runs start.',
        errors: [{ field: 'project', message: 'Queued-runs quota 3 reached' }],
      },
    });
  });

  it('counts the runs recorded, which may pass the specs given (a pipeline’s evaluations)', () => {
    expect(refusal(() => quota.projectLimits('vision', runs(1), 3)(load(0, null)))).toBeNull();
    expect(refusal(() => quota.projectLimits('vision', runs(1), 4)(load(0, null)))?.status).toBe(429);
  });

  it('holds a project with its own quota to that one, saying so', () => {
    expect(refusal(() => quota.projectLimits('vision', runs(5))(load(0, 10)))).toBeNull();
    expect(refusal(() => quota.projectLimits('vision', runs(1))(load(1, 1)))).toEqual({
      status: 429,
      body: {
        message: expect.stringContaining(
          'has 1 runs waiting; 1 more would pass its quota of 1 (its own, set by an operator)',
        ),
        errors: [{ field: 'project', message: 'Queued-runs quota 1 reached' }],
      },
    });
  });

  it('admits a priority up to QUOTA_MAX_PRIORITY exactly, and refuses one above with 422 naming priority', () => {
    expect(refusal(() => quota.projectLimits('vision', runs(1, 50))(load(0, null)))).toBeNull();
    expect(refusal(() => quota.projectLimits('vision', runs(1, -100))(load(0, null)))).toBeNull();
    expect(refusal(() => quota.projectLimits('vision', runs(1, 51))(load(0, null)))).toEqual({
      status: 422,
      body: {
        message: 'A priority is above what the project may ask for',
        errors: [
          {
            field: 'priority',
            message: 'Priority 51 is above 50, the highest project "vision" may ask for (QUOTA_MAX_PRIORITY)',
          },
        ],
      },
    });
  });

  it('holds a project with its own cap to that one, above or below the default, before its quota', () => {
    expect(refusal(() => quota.projectLimits('vision', runs(1, 90))(load(0, null, 90)))).toBeNull();
    const capped = refusal(() => quota.projectLimits('vision', runs(1, 10))(load(9, 1, 0)));
    expect(capped?.status).toBe(422);
    expect(capped?.body).toMatchObject({
      errors: [
        {
          field: 'priority',
          message: expect.stringContaining(
            'above 0, the highest project "vision" may ask for (its own, set by an operator)',
          ),
        },
      ],
    });
  });

  it("names each spec at its place in the request, a sweep's at its base, each field once", () => {
    const specs = [
      { spec: { priority: 80 }, prefix: 'pretrain.' },
      { spec: { priority: 10 }, prefix: 'finetunes.0.' },
      { spec: { priority: 70 }, prefix: 'finetunes.1.' },
      { spec: { priority: 60 }, prefix: 'base.', swept: { 'training.seed': 1 } },
      { spec: { priority: 60 }, prefix: 'base.', swept: { 'training.seed': 2 } },
    ];
    const body = refusal(() => quota.projectLimits('vision', specs)(load(0, null)))?.body as {
      errors: { field: string; message: string }[];
    };
    expect(body.errors.map((e) => e.field)).toEqual(['pretrain.priority', 'finetunes.1.priority', 'base.priority']);
    expect(body.errors[2]!.message).toMatch(/^With training.seed=1: Priority 60 is above 50/);
  });
});

describe('placeError: a refusal named where the request holds the field', () => {
  const error = { field: 'model.headUnits', message: 'too large' };
  it('prefixes the field with the spec’s place, and leaves it alone without one', () => {
    expect(placeError(error, { prefix: 'finetunes.1.' })).toEqual({
      field: 'finetunes.1.model.headUnits',
      message: 'too large',
    });
    expect(placeError(error, {})).toEqual(error);
    expect(placeError(error, { prefix: 'base.', swept: {} })).toEqual({
      field: 'base.model.headUnits',
      message: 'too large',
    });
  });
  it('names a swept field as the sweep parameter, and says which run’s values break it', () => {
    expect(placeError(error, { prefix: 'base.', swept: { 'model.headUnits': 4096, 'training.seed': 3 } })).toEqual({
      field: 'parameters.model.headUnits',
      message: 'With model.headUnits=4096, training.seed=3: too large',
    });
    // A field the values did not set stays the base's, with the run's values told.
    expect(placeError(error, { prefix: 'base.', swept: { 'training.seed': 3 } })).toEqual({
      field: 'base.model.headUnits',
      message: 'With training.seed=3: too large',
    });
  });
  it('reads only the values’ own keys', () => {
    const hostile = { field: 'constructor', message: 'x' };
    expect(placeError(hostile, { prefix: 'base.', swept: { 'training.seed': 1 } }).field).toBe('base.constructor');
  });
});
