export * from './object-store';
export { assertValidKey, assertValidPrefix, normalizeObjectPrefix, prefixProblem } from './object-key';
export { ObjectNotFoundError } from './object-not-found.error';
export { InvalidObjectKeyError } from './invalid-object-key.error';
export { CorruptCheckpointError } from './corrupt-checkpoint.error';
export { StorageRequestError } from './storage-request.error';
export { StoreFullError } from './store-full.error';
export { BodySizeMismatchError } from './body-size-mismatch.error';
export { PUT_STREAM_PART_BYTES } from './sized-body';
export { isTransientStorageError, withStorageRetry, DEFAULT_RETRY_POLICY, type RetryPolicy } from './transient-error';
export { S3ObjectStore, parseS3Endpoint, type S3ObjectStoreOptions } from './s3-object-store';
export { LocalObjectStore } from './local-object-store';
export { storeFolderTwin } from './store-folder-twin';
export { createObjectStore } from './create-object-store';
export { storeIOHandler } from './store-io-handler';
export { modelArtifactsToFiles, filesToModelArtifacts, MODEL_JSON, WEIGHTS_BIN } from './model-artifacts';
export {
  CheckpointStore,
  CHECKPOINT_MANIFEST,
  type CheckpointFolder,
  type CheckpointManifest,
} from './checkpoint-store';
export {
  IMAGE_EXTENSIONS,
  isFolderImage,
  isImageFileName,
  isToolFolder,
  scanImageFolder,
  type ImageFile,
  type ImageFolderScan,
  type LeftOutImage,
} from './image-folder-layout';
export {
  IMAGE_SIGNATURE_BYTES,
  IMAGE_TYPE_NAMES,
  MAX_FILE_NAME_BYTES,
  MAX_IMAGE_FILE_BYTES,
  imageFileTooLarge,
  imageNameProblem,
  notAnImage,
  sniffImageType,
  type ImageType,
} from './image-file';
export { InvalidImageFolderError } from './invalid-image-folder.error';
export {
  augmentationSampleKey,
  runLogPrefix,
  runLogChunkKey,
  parseRunLogChunkKey,
  type RunLogChunkId,
} from './run-artifact-keys';
export { resolveUnderRoots, localPathOf, LocalPathRefusedError, type LocalPathRefusal } from './local-roots';
export { FolderWalkLimitError, walkLimitsOf, type WalkLimits } from './folder-walk-limit.error';
export { notValidJson } from './json-problem';
export {
  importedModelIOHandler,
  locateModelFile,
  MAX_WEIGHT_FILES,
  modelFolderOfKey,
  ModelFileRefusedError,
  ModelUriRefusedError,
  weightPathProblem,
  type ModelFile,
  type ModelFileLocation,
} from './model-uri';
export { PACKED_ROOT, packedManifestKey, packedShardKey } from './packed-keys';
export {
  INTERNAL_PREFIXES,
  RUNS_ROOT,
  UPLOADS_ROOT,
  internalFolderOfPath,
  internalPathProblem,
  internalPrefixOf,
  internalPrefixProblem,
  isUploadFolder,
  recordedDatasetPrefixProblem,
  uploadFolder,
} from './internal-prefixes';
export { removePackedVersionsOf, type RemovedPackedVersions } from './packed-versions-removal';
