import {
  checkApiUrl,
  chosenApiUrl,
  configPath,
  DamagedConfigError,
  effectiveConfig,
  givenApiKey,
  readStoredConfig,
  sameApiUrl,
  writeConfig,
  type CliConfig,
} from './cli-config';
import { arg, printJson, readArgFile, str, warn, type Command } from './command';
import { EXIT, usageError } from './exit-codes';

export const loginCommand: Command = {
  name: 'login',
  usage: '--url <url> [--api-key <key> | --key-file <file>]',
  maxArgs: 0,
  summary: 'Check an API URL and key, and store them (mode 0600) for the other commands.',
  details: `Stored in $XDG_CONFIG_HOME/trainyard/config.json (else ~/.config/trainyard/config.json); TRAINYARD_URL and TRAINYARD_API_KEY override it.`,
  options: { 'key-file': { type: 'string' } },
  optionHelp: { 'key-file': "read the key from a file, e.g. the demo's .trainyard/admin-key" },
  async run(ctx) {
    const keyFile = str(ctx, 'key-file');
    if (keyFile !== undefined && str(ctx, 'api-key') !== undefined)
      throw usageError('Give the key one way: --api-key or --key-file, not both', '--key-file');
    // A damaged login is what `login` is run to replace: said, then written anew.
    let stored: Partial<CliConfig> = {};
    try {
      stored = readStoredConfig(ctx.env);
    } catch (error) {
      if (!(error instanceof DamagedConfigError)) throw error;
      warn(ctx, `${error.path} is damaged: this login replaces it`);
    }
    const chosen = chosenApiUrl(str(ctx, 'url'), ctx.env, () => stored);
    const url = chosen.url?.replace(/\/+$/, '');
    if (!url) throw usageError('login needs --url <url>', '--url');
    checkApiUrl(url, chosen.source);
    const given = keyFile ? readArgFile(keyFile).trim() : givenApiKey(str(ctx, 'api-key'), ctx.env)?.key;
    if (keyFile && !given) throw usageError(`${keyFile} holds no key`, '--key-file');
    // The stored key belongs to the stored URL: sent to another host, it would hand that host the key.
    if (given === undefined && stored.apiKey && !sameApiUrl(url, stored.url))
      throw usageError(
        `The stored key is for ${stored.url}, not ${url}: give the key for ${url} with --api-key, --key-file or TRAINYARD_API_KEY`,
      );
    const apiKey = given ?? stored.apiKey;
    // Refuse to store what does not work: a typo found now is not a puzzle at the next command.
    const who = await ctx.client({ url, apiKey }).whoami({ signal: ctx.signal });
    const path = writeConfig({ url, ...(apiKey ? { apiKey } : {}) }, ctx.env);
    if (ctx.json) printJson(ctx, { url, config: path, whoami: who });
    else ctx.out(`logged in to ${url} as key "${who.name}" (${who.scopes.join(', ')}); saved to ${path}\n`);
    return EXIT.OK;
  },
};

export const configCommand: Command = {
  name: 'config',
  usage: '',
  maxArgs: 0,
  summary:
    'The API URL and key a command would use (with --url and --api-key as given), where each comes from, and where the login is stored; the key masked.',
  async run(ctx) {
    const used = effectiveConfig({ url: str(ctx, 'url'), 'api-key': str(ctx, 'api-key') }, ctx.env);
    const view = {
      path: configPath(ctx.env),
      url: used.url ?? null,
      urlFrom: used.url === undefined ? null : used.urlSource!,
      apiKey: used.apiKey === undefined ? null : '****',
      apiKeyFrom: used.keySource ?? null,
      ...(used.storedKeyUnused ? { note: used.storedKeyUnused } : {}),
    };
    if (ctx.json) return (printJson(ctx, view), EXIT.OK);
    const from = (source: string | null) => (source ? ` (${source})` : '');
    ctx.out(
      `config ${view.path}\n` +
        `url    ${view.url ?? '(none)'}${from(view.urlFrom)}\n` +
        `key    ${view.apiKey ?? `(none${used.storedKeyUnused ? `: ${used.storedKeyUnused}` : ''})`}${from(view.apiKeyFrom)}\n`,
    );
    return EXIT.OK;
  },
};

/** `trainyard completion bash|zsh`: a script completing command names, subcommands and each command's options. */
export function completionCommand(commands: () => Command[]): Command {
  return {
    name: 'completion',
    usage: 'bash|zsh',
    maxArgs: 1,
    summary:
      'Print a shell completion script: `source <(trainyard completion bash)`, or add it to ~/.bashrc / ~/.zshrc.',
    async run(ctx) {
      // A script to source is no JSON: printing it under --json would break a reader expecting JSON.
      if (ctx.json) throw usageError('completion prints a shell script, not JSON: leave out --json', '--json');
      const shell = arg(ctx, 0, 'shell (bash or zsh)');
      if (shell !== 'bash' && shell !== 'zsh') throw usageError(`completion supports bash and zsh, not "${shell}"`);
      ctx.out(completionScript(shell, commands()));
      return EXIT.OK;
    },
  };
}

/**
 * The subcommands a usage names: each lowercase word that opens an alternative (`[show <id> |
 * upload <name> <dir>]`, `bash|zsh`), read from the usage itself so that a new one (`upload`) is
 * completed without a list to keep; `<…>` placeholders and option values (`N|default`) are none.
 */
export function subcommandsOf(usage: string): string[] {
  const words = usage.replace(/<[^>]*>/g, '').matchAll(/(?:^|\[ ?|(?<![A-Z])\| ?)([a-z][a-z-]*)\b/g);
  return [...new Set([...words].map((m) => m[1]!))];
}

export function completionScript(shell: 'bash' | 'zsh', commands: Command[]): string {
  const names = commands.map((c) => c.name).join(' ');
  const cases = commands
    .map((c) => {
      const words = [...Object.keys(c.options ?? {}), 'json', 'url', 'api-key', 'help'].map((o) => `--${o}`);
      const subs = subcommandsOf(c.usage);
      return `    ${c.name}) subs="${[...new Set(subs)].join(' ')}" opts="${words.join(' ')}" ;;`;
    })
    .join('\n');
  const bash = `# trainyard completion (bash)
_trainyard() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" subs="" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names}" -- "$cur") ); return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else COMPREPLY=( $(compgen -W "$subs" -- "$cur") $(compgen -f -- "$cur") ); fi
}
complete -F _trainyard trainyard
`;
  // zsh runs the bash function through bashcompinit: one script to keep right, not two.
  return shell === 'bash' ? bash : `#compdef trainyard\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
