import type { TrainyardConfig } from '@trainyard/config';
import { LocalObjectStore } from './local-object-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

/** The store the configuration names; for S3 the bucket is created if it is missing. */
export async function createObjectStore(config: TrainyardConfig['storage']): Promise<ObjectStore> {
  switch (config.driver) {
    case 's3': {
      const store = new S3ObjectStore(config);
      await store.ensureBucket();
      return store;
    }
    case 'local': {
      const store = new LocalObjectStore(config.root);
      await store.ping();
      return store;
    }
  }
}
