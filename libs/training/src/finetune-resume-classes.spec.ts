import * as tf from '@tensorflow/tfjs';
import { FinetuneSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { runFinetune } from './finetune';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { recordingHooks } from './recording-hooks.testing';
import type { RunData } from './run-data';
import type { TrainingCheckpoint } from './training-hooks';
import { parseTrainingState, type ResumeFrom } from './training-state';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const spec = FinetuneSpecSchema.parse({
  kind: 'finetune',
  name: 'classes',
  dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 4, testPerClass: 1 },
  model: { type: 'classifier', inputShape: [16, 16, 1], filters: [4], latentDim: 8, headUnits: 0 },
  training: { epochs: 2, batchSize: 4, seed: 3 },
  checkpoint: { everyEpochs: 1 },
});
const data = loadDataset(spec.dataset, { seed: 3, labeled: true }) as RunData;

/** A checkpoint as the worker hands it to a resume: state.json read back by the same parser. */
function resumeFrom(c: TrainingCheckpoint, files = c.files): ResumeFrom {
  const { epoch, step, nextBatch, epochTotals, tracking, metric, classNames } = parseTrainingState(files['state.json']);
  return { epoch, step, nextBatch, epochTotals, tracking, metric, classNames, sequence: 1, files };
}

/**
 * A resumed fine-tune lists its folder again: a class renamed, added or removed between two
 * attempts once made it train on shifted labels and end SUCCEEDED at accuracy 0, or fail on the
 * labels' shape after every retry.
 */
describe('a fine-tune resumed on classes other than its checkpoint’s', () => {
  let first: TrainingCheckpoint;
  beforeAll(async () => {
    const hooks = recordingHooks();
    await runFinetune(data, { ...spec, training: { ...spec.training, epochs: 1 } }, null, hooks);
    first = hooks.checkpoints[0]!;
  });

  it('resumes on the same classes', async () => {
    expect(parseTrainingState(first.files['state.json']).classNames).toEqual(data.classNames);
    const outcome = await runFinetune(data, spec, null, recordingHooks(), { resume: resumeFrom(first) });
    expect(outcome.status).toBe('completed');
  });

  it('fails for good naming the first output whose class changed (a class folder renamed)', async () => {
    const renamed = [...data.classNames.slice(1), 'zebra'];
    const attempt = runFinetune({ ...data, classNames: renamed }, spec, null, recordingHooks(), {
      resume: resumeFrom(first),
    });
    await expect(attempt).rejects.toThrow(InvalidTrainingInputError);
    await expect(attempt).rejects.toThrow(
      `This run's checkpoint 1 was trained on ${data.classNames.length} classes and its dataset has ${renamed.length} now, differing first at output 0: "${data.classNames[0]}" in the checkpoint, "${renamed[0]}" in the dataset: the dataset's classes changed while the run trained`,
    );
  });

  it('holds a checkpoint written before classes were kept to its output count (a class added)', async () => {
    const state = JSON.parse(first.files['state.json']!.toString('utf8')) as Record<string, unknown>;
    delete state['classNames'];
    const older = { ...first.files, 'state.json': Buffer.from(JSON.stringify(state)) };
    const added = [...data.classNames, 'cow'];
    await expect(
      runFinetune({ ...data, classNames: added }, spec, null, recordingHooks(), { resume: resumeFrom(first, older) }),
    ).rejects.toThrow(
      `This run's checkpoint 1 was trained on ${data.classNames.length} classes and its dataset has ${added.length} now: the dataset's classes changed`,
    );
    const outcome = await runFinetune(data, spec, null, recordingHooks(), { resume: resumeFrom(first, older) });
    expect(outcome.status).toBe('completed');
  });
});
