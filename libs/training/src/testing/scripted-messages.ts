/**
 * What testing/scripted-training.child.ts sends, given it in its environment: the messages in order,
 * as fast as the channel takes them, `times` times over (default once), then a 'succeeded' outcome.
 */
export interface ScriptedMessages {
  messages: unknown[];
  times?: number;
}

/** The environment variable that carries the script (JSON). Read by the scripted child only. */
export const SCRIPTED_MESSAGES_ENV = 'TRAINYARD_SCRIPTED_CHILD_MESSAGES';

/** The `env` of TrainingProcessOptions that gives the scripted child its script. */
export function scriptedEnv(script: ScriptedMessages): Record<string, string> {
  return { [SCRIPTED_MESSAGES_ENV]: JSON.stringify(script) };
}
