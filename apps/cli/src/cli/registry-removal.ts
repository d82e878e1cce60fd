import { RegisteredModelRefSchema } from '@trainyard/contracts';
import { terminalSafe } from '../terminal-safe';
import { printJson, type CommandContext } from './command';
import { EXIT, usageError, type ExitCode } from './exit-codes';

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

/** `datasets rm <id>`: the registration, and the images an upload stored; a folder of the user's own is left as it is. */
export async function removeDataset(ctx: CommandContext, id: string): Promise<ExitCode> {
  const deleted = await ctx.client().deleteDataset(id, { signal: ctx.signal });
  if (ctx.json) return (printJson(ctx, deleted), EXIT.OK);
  const what = deleted.objects
    ? `${deleted.objects.count} stored image${deleted.objects.count === 1 ? '' : 's'} (${kib(deleted.objects.bytes)}) removed from ${deleted.objects.prefix}${deleted.objects.packedVersions ? `, and ${deleted.objects.packedVersions} packed version${deleted.objects.packedVersions === 1 ? '' : 's'} of them` : ''}`
    : `its folder (${deleted.location.kind === 'local' ? deleted.location.path : deleted.location.prefix}) left as it is`;
  const history =
    deleted.finishedRuns === 1
      ? '; 1 finished run keeps its history'
      : deleted.finishedRuns > 1
        ? `; ${deleted.finishedRuns} finished runs keep their history`
        : '';
  ctx.out(`${terminalSafe(`deleted dataset ${deleted.name} (${deleted.datasetId}): ${what}${history}`)}\n`);
  return EXIT.OK;
}

/** `3` or `v3`, as `models <name>` prints it, checked by the rule the API applies; a usage error otherwise. */
export function modelVersionArg(text: string): number {
  const digits = /^v?(\d{1,7})$/.exec(text)?.[1];
  const parsed = RegisteredModelRefSchema.shape.version.safeParse(digits === undefined ? NaN : Number(digits));
  if (!parsed.success) throw usageError(`"${text}" is not a model version (1, 2, … or v1, v2, …)`, 'version');
  return parsed.data;
}

/** `models rm <name> <version>`: the registry entry only (the checkpoint stays with its run); the name goes with its last version. */
export async function removeModelVersion(
  ctx: CommandContext,
  name: string,
  versionText: string,
  project?: string,
): Promise<ExitCode> {
  const version = modelVersionArg(versionText);
  const deleted = await ctx.client().deleteModelVersion(name, version, { project }, { signal: ctx.signal });
  if (ctx.json) return (printJson(ctx, deleted), EXIT.OK);
  const left =
    deleted.remainingVersions === 0
      ? `it was its last version: the model is gone`
      : `${deleted.remainingVersions} version${deleted.remainingVersions === 1 ? '' : 's'} left`;
  ctx.out(
    `${terminalSafe(`deleted ${deleted.name} v${deleted.version} (run ${deleted.runId}, checkpoint ${deleted.checkpointId}, kept with the run); ${left}`)}\n`,
  );
  return EXIT.OK;
}
