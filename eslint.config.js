// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers, as a rule: what each folder of source/ may import from the others. An
 * arrow the wrong way fails `npm run lint` (and so `npm test`). Ground floor first:
 * journal and transport import nothing of ours; the engine knows journal, runbook and
 * transport only (team mode reaches it through engine/extension.ts); the views know the
 * engine's types and the store; services compose everything; commands call services.
 */
const FOLDERS = [
  'journal',
  'transport',
  'runbook',
  'import',
  'sim',
  'lab',
  'store',
  'engine',
  'team',
  'decisions',
  'ui',
  'report',
  'services',
  'commands',
];
const MAY_IMPORT = {
  journal: [],
  transport: [],
  runbook: ['transport'],
  // Markdown and wiki text → a machine file's text: it knows the vocabulary, nothing else.
  import: ['runbook'],
  sim: ['transport', 'runbook'],
  // `crewchief lab`: real sshd around a simulated site (the tests' sshd harness uses it too).
  lab: ['runbook', 'sim', 'transport'],
  store: ['journal', 'runbook'],
  engine: ['journal', 'runbook', 'transport'],
  team: ['engine', 'journal', 'runbook', 'transport'],
  // What a driver's answer means: read by the console, plain mode, flags and autopilot.
  decisions: ['engine', 'journal', 'store'],
  ui: ['decisions', 'engine', 'journal', 'runbook', 'store'],
  report: ['journal', 'runbook', 'store'],
  services: [
    'decisions',
    'engine',
    'journal',
    'report',
    'runbook',
    'sim',
    'store',
    'team',
    'transport',
    'ui',
  ],
  commands: [
    'decisions',
    'engine',
    'import',
    'journal',
    'lab',
    'report',
    'runbook',
    'services',
    'sim',
    'store',
    'team',
    'transport',
    'ui',
  ],
};
/** Known exceptions, each with its reason; remove them as they are fixed. */
const EXCEPTIONS = {};
const forbidden = (folder, extra = []) =>
  FOLDERS.filter((f) => f !== folder && !MAY_IMPORT[folder].includes(f) && !extra.includes(f));
const layerRule = (folder, extra) => {
  const banned = forbidden(folder, extra);
  const message = `source/${folder} may import only ${MAY_IMPORT[folder].join(', ') || 'nothing of ours'} (see the layers in eslint.config.js)`;
  const specifier = `^(\\.\\./)+(${banned.join('|')})/`;
  return {
    'no-restricted-imports': [
      'error',
      {patterns: [{regex: specifier.replaceAll('\\\\', '\\'), message}]},
    ],
    'no-restricted-syntax': [
      'error',
      {
        selector: `ImportExpression[source.value=/${specifier.replaceAll('/', '\\/')}/]`,
        message,
      },
    ],
  };
};
const layers = FOLDERS.flatMap((folder) => [
  {
    files: [`source/${folder}/**/*.ts`, `source/${folder}/**/*.tsx`],
    ignores: Object.keys(EXCEPTIONS),
    rules: layerRule(folder),
  },
  ...Object.entries(EXCEPTIONS)
    .filter(([file]) => file.startsWith(`source/${folder}/`))
    .map(([file, extra]) => ({files: [file], rules: layerRule(folder, extra)})),
]);

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.bench/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_'},
      ],
      'no-control-regex': 'off',
    },
  },
  ...layers,
  {
    files: ['**/*.js'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly'}},
  },
);
