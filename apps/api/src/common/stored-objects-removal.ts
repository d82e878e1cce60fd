import { UnprocessableEntityException } from '@nestjs/common';
import { FolderWalkLimitError, type ObjectStore, type StoredObject, type WalkLimits } from '@trainyard/storage';

/** Keys per delete request (S3's DeleteObjects takes at most 1,000). */
const DELETE_BATCH = 1000;

/**
 * Every object under `prefix` that deleting `what` ("Run <id>", "Dataset <id>") would remove; a
 * 422 naming it when there are more than the walk limits allow, before anything is removed.
 */
export async function objectsToRemove(
  store: ObjectStore,
  prefix: string,
  limits: WalkLimits,
  what: string,
): Promise<StoredObject[]> {
  try {
    return await store.list(prefix, limits);
  } catch (err) {
    if (!(err instanceof FolderWalkLimitError)) throw err;
    throw new UnprocessableEntityException({
      message: `${what} has too many objects to delete in one request: ${err.message}`,
    });
  }
}

/** Removes the objects, a batch a request; keys already gone are no error, so a retry converges. */
export async function removeObjects(store: ObjectStore, objects: readonly StoredObject[]): Promise<void> {
  for (let i = 0; i < objects.length; i += DELETE_BATCH) {
    await store.delete(objects.slice(i, i + DELETE_BATCH).map((o) => o.key));
  }
}
