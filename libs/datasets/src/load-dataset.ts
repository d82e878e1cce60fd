import type { DatasetSpec } from '@trainyard/contracts';
import { InvalidImageFolderError } from './invalid-image-folder.error';
import type { LoadedDataset, LoadOptions } from './dataset.types';
import { loadMnist } from './mnist.dataset';
import { loadSyntheticShapes } from './synthetic-shapes.dataset';

/** Loads a dataset spec deterministically from its seed; no I/O beyond the bundled MNIST digits. */
export function loadDataset(spec: DatasetSpec, opts: LoadOptions): LoadedDataset {
  switch (spec.name) {
    case 'mnist':
      return loadMnist(spec, opts);
    case 'synthetic-shapes':
      return loadSyntheticShapes(spec, opts);
    case 'image-folder':
      // A registered folder needs its location (from the database) and I/O: loadImageFolder.
      throw new InvalidImageFolderError(
        `dataset ${spec.datasetId}`,
        'image folders load with loadImageFolder, not loadDataset',
      );
  }
}
