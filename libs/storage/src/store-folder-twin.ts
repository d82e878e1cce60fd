import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { DatasetLocation } from '@trainyard/contracts';
import { LocalObjectStore } from './local-object-store';
import type { ObjectStore } from './object-store';

/**
 * The same folder named by the other kind of location, where the object store is a local folder
 * (the embedded default, `$TRAINYARD_HOME/objects`) that TRAINYARD_LOCAL_ROOTS may reach: a store
 * prefix is then a local path under the store's root, and a local path inside that root is a
 * prefix. Folders are compared per kind, so without this a project could register another's
 * folder by naming it the other way and read its images. Null for an S3 store (no local path
 * reaches it) or a local path outside the store's root.
 */
export async function storeFolderTwin(location: DatasetLocation, store: ObjectStore): Promise<DatasetLocation | null> {
  if (!(store instanceof LocalObjectStore)) return null;
  // Local locations are recorded as real paths (resolveUnderRoots), so the root is compared as one.
  const root = await realpath(store.root).catch(() => store.root);
  if (location.kind === 's3') return { kind: 'local', path: join(root, ...location.prefix.split('/')) };
  const rel = relative(root, location.path);
  if (rel === '' || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) return null;
  return { kind: 's3', prefix: `${rel.split(sep).join('/')}/` };
}
