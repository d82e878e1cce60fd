import {
  startTrainingProcess,
  type TrainingProcessHandle,
  type TrainingProcessOptions,
} from '../start-training-process';
import type { TrainingEvent, TrainingJobInput } from '../training-job.types';

/**
 * Runs one training process to its outcome for a test, keeping every event it sent; `onEvent` sees
 * each event with the handle (to preempt or cancel at a chosen point). `of(type)` is the events of
 * one type, typed.
 */
export async function collectTrainingProcess(
  input: TrainingJobInput,
  onEvent: (event: TrainingEvent, handle: TrainingProcessHandle) => void = () => undefined,
  options: TrainingProcessOptions = {},
) {
  const events: TrainingEvent[] = [];
  const handle: TrainingProcessHandle = startTrainingProcess(
    input,
    (e) => {
      events.push(e);
      onEvent(e, handle);
    },
    options,
  );
  const outcome = await handle.done;
  const of = <T extends TrainingEvent['type']>(type: T) =>
    events.filter((e): e is Extract<TrainingEvent, { type: T }> => e.type === type);
  return { outcome, events, handle, of };
}
