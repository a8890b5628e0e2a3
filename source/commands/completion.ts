/**
 * `crewchief completion bash|zsh`: a completion script generated from the command table
 * `--help` prints. Commands and options come from the table; sites, profiles and
 * sessions are asked of crewchief itself when completing (`crewchief __complete KIND`),
 * so a profile added to ./profiles completes at once.
 */
import {COMMANDS, type ArgKind} from './table.js';

const GLOBAL_FLAGS = ['help', 'version'];

/** The bash script (zsh loads it through bashcompinit). */
export function bashScript(): string {
  const cases = COMMANDS.map(
    (c) => `    ${c.name}) kind=${c.args}; flags="${c.flags.map((f) => `--${f}`).join(' ')}" ;;`,
  ).join('\n');
  return `# crewchief completion for bash: eval "$(crewchief completion bash)"
_crewchief() {
  local cur prev cmd kind flags words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${COMMANDS.map((c) => c.name).join(' ')} ${GLOBAL_FLAGS.map((f) => `--${f}`).join(' ')}" -- "$cur") )
    return 0
  fi
  cmd="\${COMP_WORDS[1]}"
  kind=none; flags=""
  case "$cmd" in
${cases}
  esac
  case "$prev" in
    --profile|-p)
      COMPREPLY=( $(compgen -W "$("\${COMP_WORDS[0]}" __complete profiles 2>/dev/null)" -- "$cur") )
      return 0 ;;
    --journal|--file|--md|--html)
      COMPREPLY=( $(compgen -f -- "$cur") )
      return 0 ;;
    --dir) COMPREPLY=( $(compgen -d -- "$cur") ); return 0 ;;
    --on-failure) COMPREPLY=( $(compgen -W "abort skip retry rollback" -- "$cur") ); return 0 ;;
    --on-unknown) COMPREPLY=( $(compgen -W "rerun done skip" -- "$cur") ); return 0 ;;
    --on-timeout) COMPREPLY=( $(compgen -W "abort skip keep-waiting rollback" -- "$cur") ); return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags --help" -- "$cur") )
    return 0
  fi
  case "$kind" in
    site) words="$("\${COMP_WORDS[0]}" __complete sites 2>/dev/null)" ;;
    session) words="$("\${COMP_WORDS[0]}" __complete sessions 2>/dev/null)"
      COMPREPLY=( $(compgen -f -- "$cur") ) ;;
    shell) words="bash zsh" ;;
    file) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    *) words="" ;;
  esac
  COMPREPLY+=( $(compgen -W "$words" -- "$cur") )
  return 0
}
complete -F _crewchief crewchief
`;
}

export function zshScript(): string {
  return `# crewchief completion for zsh: eval "$(crewchief completion zsh)"
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript()}`;
}

/** Names for `__complete KIND`: one a line. */
export async function completionWords(kind: string): Promise<string[]> {
  const {listProfiles, shippedSites} = await import('../runbook/load.js');
  if (kind === 'sites') return [...(await shippedSites()).keys()];
  if (kind === 'profiles') return listProfiles().map((p) => p.name);
  if (kind === 'sessions')
    return (await import('../services/catalogue.js')).listSessions().map((s) => s.id);
  return [];
}

export async function completion(args: string[]): Promise<number> {
  const [shell] = args;
  if (args[0] === '__complete') {
    for (const word of await completionWords(args[1] ?? '')) process.stdout.write(`${word}\n`);
    return 0;
  }
  if (shell !== 'bash' && shell !== 'zsh') {
    process.stderr.write(
      'crewchief: completion expects bash or zsh: eval "$(crewchief completion bash)"\n',
    );
    return 2;
  }
  process.stdout.write(shell === 'bash' ? bashScript() : zshScript());
  return 0;
}

export type {ArgKind};
