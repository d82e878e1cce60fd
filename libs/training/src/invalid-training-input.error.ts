/** The job's input cannot train as given (spec, dataset or base model disagree): retrying will not help. */
export class InvalidTrainingInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTrainingInputError';
  }
}
