import { TrainyardApiError } from '@trainyard/client';
import type { ModelVersionView } from '@trainyard/contracts';
import { formatTable, formatTimestamp } from '../progress-line';
import { terminalSafe } from '../terminal-safe';
import { printJson, type CommandContext } from './command';
import { EXIT, type ExitCode } from './exit-codes';

/** The most runs whose checkpoints `models show` reads to number its versions' checkpoints. */
const RUNS_LOOKED_UP = 20;

/** A version with the sequence of its checkpoint (what `download --checkpoint` takes); null when not looked up. */
export type ShownModelVersion = ModelVersionView & { checkpointSequence: number | null };

/**
 * `models show <name>`: the model's versions, oldest first, each with the run and the checkpoint it
 * pins (its id, and its sequence in the run, read from the run's checkpoints: one request per run,
 * for the first RUNS_LOOKED_UP runs) and when it was registered.
 */
export async function showModel(ctx: CommandContext, name: string, project?: string): Promise<ExitCode> {
  const client = ctx.client();
  const { versions } = await client.modelVersions(name, { project }, { signal: ctx.signal });
  const sequences = new Map<string, number>();
  for (const runId of [...new Set(versions.map((v) => v.runId))].slice(0, RUNS_LOOKED_UP)) {
    const checkpoints = await client.checkpoints(runId, { signal: ctx.signal }).catch((error: unknown) => {
      // A run the key may no longer read leaves its versions' sequences unknown, not the model unshown.
      if (error instanceof TrainyardApiError && error.status === 404) return null;
      throw error;
    });
    for (const c of checkpoints?.checkpoints ?? []) sequences.set(c.id, c.sequence);
  }
  const shown: ShownModelVersion[] = versions.map((v) => ({
    ...v,
    checkpointSequence: sequences.get(v.checkpointId) ?? null,
  }));
  if (ctx.json) return (printJson(ctx, { name, versions: shown }), EXIT.OK);
  const projectName = versions[0]?.project ?? project ?? 'default';
  ctx.out(
    `${terminalSafe(`${name} (project ${projectName}): ${versions.length} version${versions.length === 1 ? '' : 's'}`)}\n`,
  );
  ctx.out(
    `${formatTable(
      ['version', 'run', 'checkpoint', 'checkpoint id', 'created (UTC)'],
      shown.map((v) => [
        `v${v.version}`,
        v.runId,
        v.checkpointSequence === null ? '-' : `#${v.checkpointSequence}`,
        v.checkpointId,
        formatTimestamp(v.createdAt),
      ]),
    )}\n`,
  );
  return EXIT.OK;
}
