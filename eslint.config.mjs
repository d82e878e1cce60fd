import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Architecture rules from DESIGN.md, enforced through Nx project tags. The rule reads Nx's cached
// project graph and silently skips itself without one (a fresh clone), so `npm run lint` computes
// the graph first (`nx show projects`).
//
// contracts imports nothing of ours; libs never import apps; the API process never loads
// TensorFlow (no engine, datasets or training, and no @tensorflow/* package).
const depConstraints = [
  { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  {
    sourceTag: 'scope:api',
    notDependOnLibsWithTags: ['scope:compute'],
    bannedExternalImports: ['@tensorflow/*'],
  },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  // tools/ (e2e and browser tests, chaos, benchmarks, experiments) drive the apps from outside.
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:app'] },
];
const boundaries = (allow) => ['error', { allow, enforceBuildableLibDependency: false, depConstraints }];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/generated/**', '.trainyard/**', '.nx/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': boundaries([]),
    },
  },
  {
    // `interface FooSchemaType extends Inferred<typeof fooSchema> {}` gives a zod schema's type a
    // name, so declarations refer to it instead of copying it (libs/contracts/src/named-schema.ts).
    files: ['libs/contracts/src/**/*.ts'],
    rules: { '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }] },
  },
  {
    // Tools import apps only through their public entries (index.ts), never their internals.
    files: ['tools/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries([
        '@trainyard/api-app',
        '@trainyard/worker-app',
        '@trainyard/cli-app',
      ]),
    },
  },
  {
    // The worker only supervises: each attempt trains in a process of its own, started through
    // @trainyard/training/supervisor, so the worker process never loads TensorFlow.js or sharp
    // (apps/worker/src/worker-imports.int-spec.ts checks the same at run time).
    files: ['apps/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@trainyard/training',
              message: 'Import @trainyard/training/supervisor: the whole library loads TensorFlow.js.',
            },
            { name: '@trainyard/engine', message: 'The engine loads TensorFlow.js: only training processes may.' },
            {
              name: '@trainyard/datasets',
              message: 'The datasets load TensorFlow.js and sharp: only training processes may.',
            },
            { name: 'sharp', message: 'Image decoding belongs in training processes.' },
          ],
          patterns: [
            {
              group: ['@tensorflow/*'],
              message: 'TensorFlow.js runs only in training processes (@trainyard/training/supervisor starts them).',
            },
          ],
        },
      ],
    },
  },
  {
    // Training processes and device probes load the libraries, not the apps' framework: NestJS
    // (and rxjs under it) would add about 0.2 s to every attempt's start. Only the apps, the
    // infrastructure module and the apps' logger (@trainyard/config/logger) build on it
    // (libs/training/src/child-imports.int-spec.ts checks what the processes load).
    files: ['libs/**/*.ts'],
    ignores: ['libs/infrastructure/**', 'libs/config/src/safe-console-logger.ts', '**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', 'rxjs', 'rxjs/*'],
              message: 'NestJS belongs to the apps; libraries stay free of it.',
            },
            { group: ['@trainyard/config/logger'], message: "The apps' logger loads NestJS: only the apps import it." },
          ],
        },
      ],
    },
  },
  {
    // The demo's one-process server composes the API and the worker (PGlite is single-process);
    // no other file may import an app.
    files: ['apps/cli/src/embedded-server.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@trainyard/api-app', '@trainyard/worker-app']) },
  },
);
