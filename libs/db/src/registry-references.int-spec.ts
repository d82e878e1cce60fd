import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import { DatasetsRepository } from './datasets.repository';
import { RunReferenceRefusedError } from './errors';
import { ModelVersionsRepository } from './model-versions.repository';
import type { Database } from './open-database';
import { lockRegistryReferences } from './registry-references';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

// A submit checks what its spec names before its transaction (RunReferencesResolver.atSubmit), and
// a DELETE of a dataset or a model version may land in between: the row locks make one of the two
// go first, whole. Either the DELETE finds the submit's run (in use), or the submit finds the row
// gone (refused, naming the field) — never a recorded run naming a deleted dataset or version.
let db: Database;
useMigratedDatabase((opened) => {
  db = opened;
});

const noLimit = () => undefined;
const imageFolderSpec = (datasetId: string) =>
  ({
    kind: 'pretrain',
    name: 'on a folder',
    dataset: { name: 'image-folder', datasetId, imageShape: [8, 8, 3] },
  }) as unknown as RunSpec;
const baseModelSpec = (name: string, version: number) =>
  ({
    kind: 'finetune',
    name: 'from a version',
    dataset: { name: 'synthetic-shapes' },
    model: { type: 'classifier', baseRunId: null, baseModel: { name, version } },
  }) as unknown as RunSpec;

async function registeredDataset(): Promise<string> {
  const id = randomUUID();
  await new DatasetsRepository(db.prisma).create({
    id,
    project: 'default',
    name: `folder ${id}`,
    location: { kind: 'local', path: `/data/${id}` },
    uri: `file:///data/${id}/`,
    classNames: ['a', 'b'],
    counts: [1, 1],
  });
  return id;
}

/** A version `name` v1 of a finished run's checkpoint. */
async function registeredVersion(name: string): Promise<void> {
  const runId = randomUUID();
  const checkpointId = randomUUID();
  await db.prisma.$executeRaw`
    INSERT INTO "runs" ("id", "kind", "status", "name", "spec", "created_at", "updated_at")
    VALUES (${runId}::uuid, 'PRETRAIN', 'SUCCEEDED', 'base', '{}'::jsonb, now(), now())`;
  await db.prisma.$executeRaw`
    INSERT INTO "checkpoints" ("id", "run_id", "sequence", "epoch", "step", "uri", "bytes", "sha256", "status", "models")
    VALUES (${checkpointId}::uuid, ${runId}::uuid, 1, 1, 1, 'file:///x/', 1, 'f', 'COMPLETE', ARRAY['encoder'])`;
  await new ModelVersionsRepository(db.prisma).register({ name, project: 'default', runId, checkpointId });
}

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !settled;
}

/**
 * A submit's transaction that has locked what `spec` names and recorded its run, held open until
 * `commit` is called; resolves `locked` once it holds the locks.
 */
function submitHeldOpen(spec: RunSpec): {
  runId: string;
  locked: Promise<void>;
  commit: () => void;
  done: Promise<void>;
} {
  const runId = randomUUID();
  let commit!: () => void;
  let onLocked!: () => void;
  const gate = new Promise<void>((resolve) => (commit = resolve));
  const locked = new Promise<void>((resolve) => (onLocked = resolve));
  const done = db.prisma.$transaction(async (tx) => {
    await lockRegistryReferences(tx, 'default', [spec]);
    await tx.run.create({
      data: { id: runId, kind: 'PRETRAIN', name: 'held', spec: spec as never, project: 'default' },
    });
    onLocked();
    await gate;
  });
  return { runId, locked, commit, done };
}

test('a submit naming a dataset being deleted waits for the deletion, then is refused naming dataset.datasetId', async () => {
  const datasetId = await registeredDataset();
  const runs = new RunsRepository(db.prisma);
  let submit: Promise<unknown> | undefined;
  let waited: boolean | undefined;
  const outcome = await new DatasetsRepository(db.prisma).delete(datasetId, async () => {
    // The objects go now, the row locked: the submit checked the dataset before, and records its run now.
    submit = runs.create(
      { id: randomUUID(), kind: 'PRETRAIN', name: 'late', spec: imageFolderSpec(datasetId), baseRunId: null },
      noLimit,
    );
    waited = await pendingAfter(submit, 400);
  });
  expect(waited).toBe(true);
  expect(outcome).toMatchObject({ outcome: 'deleted', finishedRuns: 0 });
  const refusal = await submit!.catch((error: unknown) => error);
  expect(refusal).toBeInstanceOf(RunReferenceRefusedError);
  expect(refusal).toMatchObject({
    field: 'dataset.datasetId',
    why: `Dataset ${datasetId} was deleted while the run was being submitted`,
  });
  expect(await db.prisma.run.count({ where: { name: 'late' } })).toBe(0);
});

test('a dataset deletion waits for a submit that locked the dataset, then finds its run and refuses', async () => {
  const datasetId = await registeredDataset();
  const held = submitHeldOpen(imageFolderSpec(datasetId));
  await held.locked;
  let removed = false;
  const deletion = new DatasetsRepository(db.prisma).delete(datasetId, async () => {
    removed = true;
  });
  expect(await pendingAfter(deletion, 400)).toBe(true);
  held.commit();
  await held.done;
  expect(await deletion).toEqual({ outcome: 'in-use', activeRuns: { count: 1, ids: [held.runId] } });
  expect(removed).toBe(false);
  expect(await new DatasetsRepository(db.prisma).get(datasetId)).not.toBeNull();
});

test('a finished run does not hold a dataset; it is counted, and keeps its spec', async () => {
  const datasetId = await registeredDataset();
  const runs = new RunsRepository(db.prisma);
  const id = randomUUID();
  // An older spec may spell the id in capitals: it still names the dataset.
  await runs.create({
    id,
    kind: 'PRETRAIN',
    name: 'done',
    spec: imageFolderSpec(datasetId.toUpperCase()),
    baseRunId: null,
  });
  const datasets = new DatasetsRepository(db.prisma);
  expect(await datasets.delete(datasetId, async () => undefined)).toMatchObject({ outcome: 'in-use' });
  await db.prisma.run.update({ where: { id }, data: { status: 'FAILED' } });
  expect(await datasets.delete(datasetId, async () => 'removed')).toMatchObject({
    outcome: 'deleted',
    finishedRuns: 1,
    removed: 'removed',
  });
  expect(await runs.get(id)).toMatchObject({ spec: { dataset: { datasetId: datasetId.toUpperCase() } } });
  expect(await datasets.delete(datasetId, async () => undefined)).toEqual({ outcome: 'not-found' });
});

test('a model version deletion waits for a submit that locked the version, then finds its run; once deleted, a submit is refused', async () => {
  await registeredVersion('digits');
  const models = new ModelVersionsRepository(db.prisma);
  const held = submitHeldOpen(baseModelSpec('digits', 1));
  await held.locked;
  const deletion = models.delete('default', 'digits', 1);
  expect(await pendingAfter(deletion, 400)).toBe(true);
  held.commit();
  await held.done;
  expect(await deletion).toEqual({ outcome: 'in-use', activeRuns: { count: 1, ids: [held.runId] } });

  await db.prisma.run.update({ where: { id: held.runId }, data: { status: 'CANCELLED' } });
  expect(await models.delete('default', 'digits', 1)).toMatchObject({ outcome: 'deleted', remainingVersions: 0 });
  const late = await new RunsRepository(db.prisma)
    .create(
      { id: randomUUID(), kind: 'FINETUNE', name: 'late', spec: baseModelSpec('digits', 1), baseRunId: null },
      noLimit,
    )
    .catch((error: unknown) => error);
  expect(late).toMatchObject({
    field: 'model.baseModel',
    why: 'Version 1 of model "digits" was deleted while the run was being submitted',
  });
});
