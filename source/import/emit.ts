/**
 * The emitter: an outline (classify.ts) → the text of a machine file that imports the
 * public vocabulary from `crewchief`, and a draft profile to dry-run it with. Ids are the
 * slug of the title after the step's number, unique in the site, so the same text
 * always gives the same ids. Every decision left to a person is a `// TODO:` line.
 */
import type {DraftPhase, DraftStep, Outline} from './classify.js';

/** The host every imported command, watch and check names until the author names real ones. */
export const PLACEHOLDER_HOST = 'todo-host';

/** What the machine holds, for the summary and the author's comparison with the source. */
export interface ImportCounts {
  phases: number;
  steps: number;
  byKind: Record<DraftStep['kind'], number>;
  danger: number;
  todos: number;
  /** Numbered items in the source (`1.`, `4.5`, `Step 3:`). */
  numberedInSource: number;
}

export interface EmitOptions {
  siteId: string;
  /** The source file's name, for the header comment. */
  source: string;
}

/** A lowercase id from a title: letters and digits joined by `-`, at most ~48 characters. */
export function slug(text: string, max = 48): string {
  const words = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
  let out = '';
  for (const w of words) {
    const next = out ? `${out}-${w}` : w;
    if (next.length > max && out) break;
    out = next.slice(0, max);
  }
  return out;
}

/** "1 phase", "2 phases". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A JavaScript string literal in single quotes. */
const str = (text: string): string =>
  `'${JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;

/** Text crewchief fills (`${…}`): a literal `${` in the source stays literal. */
const literal = (text: string): string => text.replace(/\$\{/g, () => '$${');

/** Shell text as one literal, or an array of lines joined (easier to read and edit). */
function runLiteral(run: string, pad: string): string {
  const lines = literal(run).split('\n');
  if (lines.length === 1) return str(lines[0]!);
  return `[\n${lines.map((l) => `${pad}  ${str(l)},`).join('\n')}\n${pad}].join('\\n')`;
}

function uniqueIds(): (base: string) => string {
  const used = new Set<string>();
  return (base) => {
    let id = base || 'step';
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  };
}

const stepBase = (step: DraftStep): string => {
  const title = slug(step.title) || step.kind;
  return step.number ? `${step.number.replace(/\./g, '-')}-${title}` : title;
};

const WHERE = `TODO: name where this runs: a host or group of your profile ("${PLACEHOLDER_HOST}" stands for it), or 'local'.`;

function todosOf(step: DraftStep): string[] {
  const todos: string[] = [];
  if (step.onlyHint)
    todos.push(
      `TODO: a site variant? only: '${slug(step.onlyHint)}' runs this on profiles with that flag.`,
    );
  switch (step.kind) {
    case 'command':
      todos.push(WHERE);
      if (step.fromProse)
        todos.push(
          'TODO: check this command against the source: it was read from running text, where an export may have joined lines or dropped quotes.',
        );
      if (step.danger)
        todos.push(
          'TODO: review: this command looks destructive (danger: the driver types the step id before it runs).',
        );
      break;
    case 'gate':
      todos.push(
        step.typeGo
          ? 'TODO: a gate: the driver types go. If a running script waits for "go", start it in a command with background: {name, readyWhen} and add send: {to: name} here.'
          : 'TODO: a gate: the driver types go once this holds. If a number says so, make it a watch.',
      );
      break;
    case 'watch':
      todos.push(
        'TODO: a watch: write the probe (a command that prints the count), where it runs, and the condition.',
      );
      if (step.until === 'back-to-before')
        todos.push(
          "TODO: capture the count in an earlier command (capture: {as: 'count_before', pattern: '(\\\\d+)'}) and wait until: {near: 'count_before', tolerance: '5%'}.",
        );
      break;
    case 'manual':
      break;
  }
  return todos;
}

const UNTIL: Record<string, string> = {
  'x-of-x': "{xOfX: '(\\\\d+) of (\\\\d+)'}",
  zero: '{equals: 0}',
  'back-to-before': '{atLeast: 1}',
  unknown: '{equals: 0}',
};

function emitStep(step: DraftStep, id: string, pad: string): {text: string; todos: number} {
  const inner = `${pad}  `;
  const fields: string[] = [`id: ${str(id)}`, `title: ${str(literal(step.title))}`];
  const help = step.help.join('\n').trim();
  if (help) fields.push(`help: ${str(literal(help))}`);
  switch (step.kind) {
    case 'manual': {
      const links = [...new Set(step.links)];
      if (links.length) fields.push(`links: [${links.map(str).join(', ')}]`);
      break;
    }
    case 'command':
      fields.push(`on: ${str(PLACEHOLDER_HOST)}`, `run: ${runLiteral(step.run ?? '', inner)}`);
      if (step.danger) fields.push('danger: true');
      break;
    case 'gate':
      fields.push(`checks: [${str(literal(step.title))}]`);
      break;
    case 'watch':
      fields.push(
        `on: ${str(PLACEHOLDER_HOST)}`,
        `probe: ${str("echo 'TODO: a command that prints the count' >&2; exit 1")}`,
        `until: ${UNTIL[step.until ?? 'unknown']}`,
      );
      break;
  }
  const todos = todosOf(step);
  const text = [
    ...todos.map((t) => `${pad}// ${t}`),
    `${pad}${step.kind}({`,
    ...fields.map((f) => `${inner}${f},`),
    `${pad}}),`,
  ].join('\n');
  return {text, todos: todos.length};
}

function emitPhase(
  phase: DraftPhase,
  id: string,
  stepId: (base: string) => string,
): {text: string; todos: number} {
  const pad = '    ';
  const lines: string[] = [`${pad}// ${phase.title} (line ${phase.line})`];
  let todos = 0;
  if (phase.dueHint) {
    lines.push(
      `${pad}// TODO: due before the release? due: '${phase.dueHint}' (T-<n>d days, T-<n>wd working days).`,
    );
    todos++;
  }
  lines.push(`${pad}phase({`, `${pad}  id: ${str(id)},`, `${pad}  title: ${str(phase.title)},`);
  const help = phase.help.join('\n').trim();
  if (help) lines.push(`${pad}  help: ${str(help)},`);
  lines.push(`${pad}  steps: [`);
  for (const step of phase.steps) {
    const emitted = emitStep(step, stepId(stepBase(step)), `${pad}    `);
    lines.push(emitted.text);
    todos += emitted.todos;
  }
  lines.push(`${pad}  ],`, `${pad}}),`);
  return {text: lines.join('\n'), todos};
}

/** The machine file's text and what it holds. */
export function emitMachine(
  outline: Outline,
  options: EmitOptions,
): {text: string; counts: ImportCounts} {
  const phases = outline.phases.filter((p) => p.steps.length);
  const phaseId = uniqueIds();
  const stepId = uniqueIds();
  const counts: ImportCounts = {
    phases: phases.length,
    steps: 0,
    byKind: {manual: 0, command: 0, gate: 0, watch: 0},
    danger: 0,
    todos: 0,
    numberedInSource: outline.numberedInSource,
  };
  const body: string[] = [];
  for (const phase of phases) {
    const emitted = emitPhase(phase, phaseId(slug(phase.title) || 'phase'), stepId);
    body.push(emitted.text);
    counts.todos += emitted.todos;
    for (const step of phase.steps) {
      counts.steps++;
      counts.byKind[step.kind]++;
      if (step.danger) counts.danger++;
    }
  }
  const kinds = (['manual', 'command', 'gate', 'watch'] as const).filter((k) => counts.byKind[k]);
  const empty = outline.phases.length - phases.length;
  const header = [
    `// Imported by \`crewchief import\` from ${options.source}: ${plural(counts.phases, 'phase')}, ${plural(counts.steps, 'step')}`,
    `// (${plural(outline.numberedInSource, 'numbered item')} in the source).`,
    '// Every `TODO:` below is a decision for a person (grep -n TODO). Until the hosts are',
    `// named, every command runs on "${PLACEHOLDER_HOST}", which the draft profile points at an`,
    '// address that never resolves: a dry run works, a real run cannot reach anything.',
    ...(empty
      ? [
          `// ${empty} heading${empty === 1 ? '' : 's'} with no steps under ${empty === 1 ? 'it' : 'them'} left out.`,
        ]
      : []),
    `import {${['site', 'phase', ...kinds].join(', ')}} from 'crewchief';`,
    '',
    'export default site({',
    `  id: ${str(options.siteId)},`,
    `  title: ${str(outline.title)},`,
    `  description: ${str(`Imported from ${options.source}`)},`,
    '  phases: [',
  ];
  const text = [...header, ...body, '  ],', '});', ''].join('\n');
  return {text, counts};
}

/** A profile to dry-run the imported machine with before its hosts are named. */
export function emitDraftProfile(siteId: string, machineFile: string): string {
  return [
    `# Draft profile for ${machineFile}, written by \`crewchief import\`: enough to validate and`,
    '# dry-run the machine before anything is decided:',
    `#   crewchief run ${machineFile} --profile THIS_FILE --dry-run --yes --confirm all`,
    `# "${PLACEHOLDER_HOST}" stands for every host the runbook names; its address (.invalid) never`,
    '# resolves, so nothing runs for real until you write a real profile with real hosts.',
    `site: ${siteId}`,
    'transport: ssh',
    'hosts:',
    `  ${PLACEHOLDER_HOST}: {address: ${PLACEHOLDER_HOST}.invalid}`,
    '',
  ].join('\n');
}
