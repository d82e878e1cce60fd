// Test-only entry (compiled to dist/ beside training.child.js, started by
// startTrainingProcessFromEntry): a training process that trains nothing and sends what its test
// scripted (scripted-messages.ts), so a spec can see what the supervisor does with messages a real
// training never sends. It runs no control thread: it never waits when asked to.
import { runChild } from '../child-runtime';
import type { ChildMessage } from '../child-messages';
import { SCRIPTED_MESSAGES_ENV, type ScriptedMessages } from './scripted-messages';

runChild({}, async (_start, channel) => {
  const script = JSON.parse(process.env[SCRIPTED_MESSAGES_ENV] ?? '{"messages":[]}') as ScriptedMessages;
  for (let i = 0; i < (script.times ?? 1); i++) {
    for (const message of script.messages) void channel.send(message as ChildMessage);
  }
  await channel.send({ kind: 'outcome', outcome: { status: 'succeeded' } });
});
