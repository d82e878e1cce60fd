import {
  API_KEY_SCOPES,
  ApiKeyNameSchema,
  CATALOG_LIST_MAX_LIMIT,
  type ApiKeyScope,
  type ApiKeyView,
} from '@trainyard/contracts';
import { formatTable, formatTimestamp } from '../progress-line';
import { effectiveConfig } from './cli-config';
import { checkFlag, expectArgs, orList, printJson, projectFlag, str, warn, type Command } from './command';
import { EXIT, usageError } from './exit-codes';
import { wholeIdArg } from './run-id-arg';

const SUBCOMMANDS = ['list', 'create', 'revoke'] as const;
const CREATE_OPTIONS = ['name', 'scopes', 'project'] as const;

/** `--scopes read,submit` as the API takes it: each a known scope, each once, at least one. */
function scopesFlag(value: string | undefined): ApiKeyScope[] {
  if (value === undefined)
    throw usageError(`keys create needs --scopes, a comma list of ${API_KEY_SCOPES.join(', ')}`, '--scopes');
  const scopes = value.split(',').map((s) => s.trim());
  const unknown = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown.length)
    throw usageError(
      `--scopes takes a comma list of ${orList(API_KEY_SCOPES)}, got "${value}"${unknown.length ? ` (not a scope: ${unknown.map((s) => `"${s}"`).join(', ')})` : ''}`,
      '--scopes',
    );
  return [...new Set(scopes)] as ApiKeyScope[];
}

/**
 * What a key may see, the same words in the table and after `create`: its project, or `every
 * project` for an operator's key (one without a project). No project can be named so (names take
 * no spaces), where "all" can be a project's name.
 */
export const keyProjectText = (k: Pick<ApiKeyView, 'project'>): string => k.project ?? 'every project';

const keyRow = (k: ApiKeyView) => [
  k.id,
  k.name,
  k.scopes.join(','),
  keyProjectText(k),
  k.revokedAt ? `revoked ${k.revokedAt.slice(0, 10)}` : 'active',
  k.lastUsedAt ? formatTimestamp(k.lastUsedAt) : '-',
];

export const keysCommand: Command = {
  name: 'keys',
  usage: '[list | create --name <name> --scopes <scopes> [--project <project>] | revoke <id>]',
  summary: "API keys (an admin key's): list them, make one (its token is printed once), or revoke one.",
  details:
    'create prints the token alone on stdout (`TOKEN=$(trainyard keys create …)`) and what it is on stderr: the API keeps only its hash, so it is never shown again. ' +
    "A project's admin key sees and makes its project's keys only. A revoked key is refused within 5 s on every API replica.",
  options: { name: { type: 'string' }, scopes: { type: 'string' }, project: { type: 'string' } },
  optionHelp: {
    name: 'create: what the key is for (1 to 100 printable ASCII characters)',
    scopes: `create: a comma list of ${API_KEY_SCOPES.join(', ')}`,
    project: 'create: the one project the key may see (default: every project, for an operator)',
  },
  async run(ctx) {
    const action = ctx.args[0] ?? 'list';
    if (!(SUBCOMMANDS as readonly string[]).includes(action))
      throw usageError(`keys takes ${orList(SUBCOMMANDS)}, got "${action}"`);
    const misplaced = CREATE_OPTIONS.find((option) => action !== 'create' && ctx.values[option] !== undefined);
    if (misplaced) throw usageError(`--${misplaced} applies to keys create only`, `--${misplaced}`);
    const client = ctx.client();
    if (action === 'create') {
      expectArgs({ name: 'keys' }, ctx.args, 1, 'create');
      const name = str(ctx, 'name');
      if (name === undefined) throw usageError('keys create needs --name, what the key is for', '--name');
      checkFlag(ApiKeyNameSchema, name, '--name');
      const scopes = scopesFlag(str(ctx, 'scopes'));
      const project = projectFlag(ctx);
      const { key, token } = await client.createKey(
        { name, scopes, ...(project === undefined ? {} : { project }) },
        { signal: ctx.signal },
      );
      if (ctx.json) return (printJson(ctx, { key, token }), EXIT.OK);
      // `TOKEN=$(trainyard keys create …)` shows stderr alone: no token follows on the terminal there.
      const where = ctx.stdoutIsTty ? 'is on the next line' : 'went to stdout';
      ctx.err(
        `key ${key.id} "${key.name}" (${key.scopes.join(', ')}; ${key.project === null ? keyProjectText(key) : `project ${key.project}`}): its token, shown this once, ${where}\n`,
      );
      ctx.out(`${token}\n`);
      return EXIT.OK;
    }
    if (action === 'revoke') {
      expectArgs({ name: 'keys' }, ctx.args, 2, 'revoke <id>');
      const id = wholeIdArg(ctx, 1, 'key', 'keys');
      // Asked before: once revoked, the key cannot ask who it was. Best effort, the revoke is what counts.
      const self = await client.whoami({ signal: ctx.signal }).catch(() => undefined);
      const { key, replayed } = await client.revokeKeyWithReplay(id, { signal: ctx.signal });
      if (ctx.json) printJson(ctx, key);
      else if (replayed)
        ctx.out(
          `key ${key.id} "${key.name}" was already revoked${key.revokedAt ? ` (${formatTimestamp(key.revokedAt)} UTC)` : ''}: nothing changed\n`,
        );
      else ctx.out(`key ${key.id} "${key.name}" revoked (refused from now on, within 5 s on every API replica)\n`);
      if (self?.keyId.toLowerCase() === key.id.toLowerCase())
        warn(
          ctx,
          `it is the key this command used (${effectiveConfig(ctx.values, ctx.env).keySource ?? 'its key'}): every command with it is refused from now on; log in with another key (\`trainyard login\`)`,
        );
      return EXIT.OK;
    }
    expectArgs({ name: 'keys' }, ctx.args, ctx.args.length ? 1 : 0, 'list');
    const items: ApiKeyView[] = [];
    for await (const key of client.keys({ limit: CATALOG_LIST_MAX_LIMIT }, { signal: ctx.signal })) items.push(key);
    if (ctx.json) return (printJson(ctx, { items }), EXIT.OK);
    ctx.out(
      items.length
        ? `${formatTable(['id', 'name', 'scopes', 'project', 'state', 'last used'], items.map(keyRow))}\n`
        : 'none\n',
    );
    return EXIT.OK;
  },
};
