// The old names of startTrainingProcess and its handle, for resume.int-spec.ts only, which the
// pretraining recipe work holds open now; it moves to the new names with that work, and this file goes.
export { startTrainingProcess as startTrainingThread, type TrainingProcessHandle as TrainingThreadHandle } from './start-training-process';
