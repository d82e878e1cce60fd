import {
  GIB,
  gibText,
  type Placement,
  resourceClassOf,
  RunSpecSchema,
  type TrainingMemory,
  WASM_MEMORY_GIB,
} from '@trainyard/contracts';

/** Workers of another backend that would take the run (WorkersRepository.takersOnOtherBackends). */
export type OtherBackendTakers = (placement: Placement) => Promise<{ id: string; backend: string }[]>;

/** What a wasm worker does with a run whose estimate is past what wasm can hold, and the line saying why. */
export type WasmMemoryPlacement = { giveBack: boolean; line: string };

/**
 * A run whose training-memory estimate is past the wasm backend's WASM_MEMORY_GIB, taken by a
 * worker that trains on wasm. The API accepts such a run when a live worker of another backend
 * serves its class (it cannot know which worker takes it): this one gives it back for that one,
 * and trains it only when none serves it any more, so it never waits forever (its first step then
 * fails naming the batch size, for good). Null on any other backend or under the limit.
 * `memory` is the stored spec's estimate (storedTrainingMemory; a fine-tune on a base run's, by its
 * base's stored spec: storedTrainingMemoryOnBaseRun), `memoryGb` what the run is placed by
 * (storedPlacementMemoryGb).
 */
export async function wasmMemoryPlacement(
  runId: string,
  stored: unknown,
  memory: TrainingMemory | null,
  memoryGb: number | undefined,
  backend: string | undefined,
  takers: OtherBackendTakers,
): Promise<WasmMemoryPlacement | null> {
  if (backend !== 'wasm') return null;
  // Every job comes through here on a wasm worker: the stored spec is parsed only for the few past the limit.
  if (!memory || memory.bytes <= WASM_MEMORY_GIB * GIB) return null;
  const parsed = RunSpecSchema.safeParse(stored);
  if (!parsed.success) return null;
  const spec = parsed.data;
  const needs =
    `run ${runId}: a training step on a batch of ${memory.batch} needs about ${gibText(memory.bytes)} (estimated from its layers), ` +
    `more than the ${WASM_MEMORY_GIB} GiB the wasm backend this worker trains on can hold`;
  const found = await takers({ ...spec, resources: { ...spec.resources, memoryGb } });
  if (found.length)
    return {
      giveBack: true,
      line: `${needs}; given back for ${found.map((w) => `worker ${w.id} (${w.backend})`).join(', ')}, which serves resource class "${resourceClassOf(spec)}"`,
    };
  return {
    giveBack: false,
    line: `${needs}, and no live worker of another backend serves resource class "${resourceClassOf(spec)}": trained here, where its first step is expected to fail naming ${memory.batchField}`,
  };
}
