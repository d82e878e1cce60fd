import { type RunSpec, RunSpecSchema } from '@trainyard/contracts';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/**
 * A run spec as it was stored, checked with RunSpecSchema as the API checks what it stores. A
 * spec stored by an earlier release may break a rule added since (a character refused in a name,
 * a bound on a built-in model): its shape is what that release checked and accepted, so it trains
 * as it was accepted, and `onRulesBroken` is told which rules (for the run's log) rather than the
 * run failing on its next attempt for a rule it was never held to. A spec whose shape is wrong (a
 * missing field, a value of the wrong type) is still refused: nothing could train on it.
 */
export function parseStoredSpec(spec: unknown, onRulesBroken: (rules: string) => void): RunSpec {
  const parsed = RunSpecSchema.safeParse(spec);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  if (parsed.error.issues.every((issue) => issue.code === 'custom')) {
    onRulesBroken(issues);
    return spec as RunSpec;
  }
  throw new InvalidTrainingInputError(`The run spec is invalid: ${issues}`);
}

/** What a training process says of a stored spec that breaks rules added since it was accepted. */
export function warnRulesBroken(what: string): (rules: string) => void {
  return (rules) =>
    process.stderr.write(
      `${what} breaks rules added since it was accepted (${rules}); it is used as it was accepted\n`,
    );
}
