// Types only: the API process imports @trainyard/storage and must never load TensorFlow.
import type { io } from '@tensorflow/tfjs-core';
import { notValidJson } from './json-problem';

/** The layout tfjs's own `file://` and `http://` handlers use, so tools like tfjs-converter read it. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * tfjs 4 hands weights over as one ArrayBuffer or as shards; stores keep one file. One ArrayBuffer
 * is viewed, not copied (a checkpoint of large weights held them twice while it was written).
 */
export function concatWeightData(data: io.WeightData | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  if (!Array.isArray(data)) return Buffer.from(data);
  return Buffer.concat(data.map((part) => Buffer.from(part)));
}

/**
 * The bytes of `buffers` end to end as one ArrayBuffer, which is what tfjs wants. A single Buffer
 * that is its whole ArrayBuffer (as ObjectStore.get reads a large object) is handed over as it is;
 * otherwise (several shards, or a slice of Node's pool) they are copied once into a new one.
 */
export function toArrayBuffer(buffers: Buffer[]): ArrayBuffer {
  const [only] = buffers;
  if (
    buffers.length === 1 &&
    only !== undefined &&
    only.byteOffset === 0 &&
    only.buffer instanceof ArrayBuffer &&
    only.buffer.byteLength === only.byteLength
  )
    return only.buffer;
  const whole = new Uint8Array(buffers.reduce((total, b) => total + b.byteLength, 0));
  let at = 0;
  for (const buffer of buffers) {
    whole.set(buffer, at);
    at += buffer.byteLength;
  }
  return whole.buffer;
}

/** model.json and weights.bin for a set of artifacts. */
export function encodeModelArtifacts(artifacts: io.ModelArtifacts): { modelJson: Buffer; weights: Buffer } {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error('Binary (GraphDef) model topologies cannot be stored; save a layers model as JSON');
  }
  if (artifacts.modelTopology === undefined) {
    throw new Error('Model artifacts have no modelTopology; nothing to save');
  }
  const weights = concatWeightData(artifacts.weightData);
  const modelJson: io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
  };
  // Optional fields only when present, so the JSON matches what tfjs writes itself.
  if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.signature !== undefined) modelJson.signature = artifacts.signature;
  if (artifacts.modelInitializer !== undefined) modelJson.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature !== undefined) modelJson.initializerSignature = artifacts.initializerSignature;
  return { modelJson: Buffer.from(JSON.stringify(modelJson)), weights };
}

/** Parses model.json; `source` names it in errors. */
export function parseModelJson(bytes: Buffer, source: string): io.ModelJSON {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`${source} is ${notValidJson(error)}`);
  }
  const json = parsed as Partial<io.ModelJSON> | null;
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${source} is not a tfjs model.json (modelTopology or weightsManifest missing)`);
  }
  return json as io.ModelJSON;
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** The bytes `specs` take in weight files; null when one has no fixed size (strings, a dtype unknown here). */
export function weightSpecsBytes(specs: io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const spec of specs) {
    const each = BYTES_PER_ELEMENT[spec.quantization?.dtype ?? spec.dtype];
    if (each === undefined) return null;
    total += spec.shape.reduce((n, d) => n * d, 1) * each;
  }
  return total;
}

/**
 * Rebuilds ModelArtifacts from model.json and the weight shards it lists, in manifest order. Shards
 * that hold other than the bytes the manifest's weights take are refused, naming them and both sizes:
 * tfjs itself fails a short one deep in a tensor ("should have 1536 values but has 1514") and takes
 * a long one whatever its extra bytes are.
 */
export function decodeModelArtifacts(json: io.ModelJSON, shards: Buffer[]): io.ModelArtifacts {
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const expected = weightSpecsBytes(weightSpecs);
  const held = shards.reduce((total, shard) => total + shard.byteLength, 0);
  if (expected !== null && held !== expected) {
    const files = json.weightsManifest.flatMap((group) => group.paths).join(', ');
    throw new Error(
      `its weight files (${files}) hold ${held} bytes where its weights manifest lists ${expected}: cut short, or not this model's weights`,
    );
  }
  const artifacts: io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs,
    // One copy at most: Buffer.concat and then a copy of its result held the weights three times.
    weightData: toArrayBuffer(shards),
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
  if (json.trainingConfig !== undefined) artifacts.trainingConfig = json.trainingConfig;
  if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata;
  if (json.signature !== undefined) artifacts.signature = json.signature;
  if (json.modelInitializer !== undefined) artifacts.modelInitializer = json.modelInitializer;
  if (json.initializerSignature !== undefined) artifacts.initializerSignature = json.initializerSignature;
  return artifacts;
}

/** `${name}/model.json` and `${name}/weights.bin`, e.g. to put a model inside a checkpoint. */
export function modelArtifactsToFiles(name: string, artifacts: io.ModelArtifacts): Record<string, Buffer> {
  const { modelJson, weights } = encodeModelArtifacts(artifacts);
  return { [`${name}/${MODEL_JSON}`]: modelJson, [`${name}/${WEIGHTS_BIN}`]: weights };
}

/** Inverse of modelArtifactsToFiles over the files of a checkpoint. */
export function filesToModelArtifacts(name: string, files: Record<string, Buffer>): io.ModelArtifacts {
  const modelJsonPath = `${name}/${MODEL_JSON}`;
  const bytes = files[modelJsonPath];
  if (!bytes) throw new Error(`Model ${name}: ${modelJsonPath} is missing (have: ${Object.keys(files).join(', ')})`);
  const json = parseModelJson(bytes, modelJsonPath);
  const shards = json.weightsManifest.flatMap((group) =>
    group.paths.map((path) => {
      const shard = files[`${name}/${path}`];
      if (!shard) throw new Error(`Model ${name}: weight file ${name}/${path} listed in ${modelJsonPath} is missing`);
      return shard;
    }),
  );
  return decodeModelArtifacts(json, shards);
}
