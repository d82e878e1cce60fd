import { internalPathProblem, internalPrefixProblem } from './internal-prefixes';
import { InvalidObjectKeyError } from './invalid-object-key.error';
import { localPathOf, resolveUnderRoots } from './local-roots';
import { assertValidKey } from './object-key';
import type { ObjectStore } from './object-store';

/** Where a model.json named by URI is read: a key of the configured store, or a real local path under the roots. */
export type ModelFileLocation = { kind: 'store'; key: string } | { kind: 'local'; path: string };

/** A model URI that names nothing this server may read; the message says why, never what is there. */
export class ModelUriRefusedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ModelUriRefusedError';
  }
}

/**
 * Checks an imported model's URI the same way at submit (the API) and before reading (the
 * worker): `s3://…` and `file://…` URIs of the configured store are keys of it (that bucket only);
 * any other `file://` URI or absolute path must lie under TRAINYARD_LOCAL_ROOTS, resolved with
 * realpath. Neither may name the folders Trainyard writes for every project (runs/, uploads,
 * packed versions; in a local store reached through the roots too): a model of this fleet is a
 * base by `model.baseRunId` or `model.baseModel`, which check its project. Throws
 * LocalPathRefusedError or ModelUriRefusedError.
 */
export async function locateModelFile(
  uri: string,
  store: ObjectStore,
  roots: readonly string[],
): Promise<ModelFileLocation> {
  const storeUri = store.uri('');
  if (uri.startsWith(storeUri)) {
    const key = uri.slice(storeUri.length);
    try {
      assertValidKey(key);
    } catch (error) {
      if (error instanceof InvalidObjectKeyError)
        throw new ModelUriRefusedError(`not a key of the object store: ${error.reason}`);
      throw error;
    }
    const internal = internalPrefixProblem(key);
    if (internal) throw new ModelUriRefusedError(`${internal}; import a model from a folder of your own`);
    return { kind: 'store', key };
  }
  if (!uri.startsWith('file://') && !uri.startsWith('/')) {
    throw new ModelUriRefusedError(
      `is not in the configured object store (${storeUri}); other buckets and locations are not read`,
    );
  }
  const path = await resolveUnderRoots(localPathOf(uri), roots);
  const internal = await internalPathProblem(path, store);
  if (internal) throw new ModelUriRefusedError(`${internal}; import a model from a folder of your own`);
  return { kind: 'local', path };
}
