// @ts-check
// ESLint flat config for the whole monorepo (apps/, libs/, test/, deploy/).
// Type-aware: typescript-eslint's `recommendedTypeChecked` with the project service reading the
// root tsconfig.json. Formatting is Prettier's job (npm run format:check), not ESLint's.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Specs, the test tree, and test helpers kept next to the code (e.g. libs/domain/src/testing/).
const TEST_FILES = [
  '**/*.spec.ts',
  '**/*.test.ts',
  '**/*.e2e-spec.ts',
  'test/**/*.ts',
  '**/testing/**/*.ts',
];

// ---- libs/domain is pure (docs/architecture.md "Rules of the house", docs/domain.md D5) ----------------
// Dependency-cruiser keeps frameworks, databases and node core modules out of libs/domain; these
// rules keep the ambient clock (and ambient randomness) out of it, which no import check can see.
const CLOCK =
  'Domain code must not read the system clock: time comes from the command (docs/domain.md D5).';
const RANDOM =
  'Domain code must not make up ids or randomness: ids come in with the command (docs/domain.md D5).';

const domainRestrictedProperties = [
  { object: 'Date', property: 'now', message: CLOCK },
  { object: 'DateTime', property: 'now', message: CLOCK }, // luxon
  { object: 'Settings', property: 'now', message: CLOCK }, // luxon's clock hook, read or written
  { object: 'performance', property: 'now', message: CLOCK },
  { object: 'performance', property: 'timeOrigin', message: CLOCK },
  { object: 'process', property: 'hrtime', message: CLOCK }, // also catches process.hrtime.bigint()
  { object: 'process', property: 'uptime', message: CLOCK },
  { object: 'Math', property: 'random', message: RANDOM },
  { object: 'crypto', property: 'randomUUID', message: RANDOM },
  { object: 'crypto', property: 'getRandomValues', message: RANDOM },
];

const domainRestrictedSyntax = [
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: `new Date() reads the clock. ${CLOCK}`,
  },
  {
    // Date() called without `new` returns the current time as a string.
    selector: "CallExpression[callee.name='Date']",
    message: `Date() reads the clock. ${CLOCK}`,
  },
  {
    // luxon: DateTime.local() / DateTime.utc() with no date parts (nothing, or only an options
    // object) mean "now". DateTime.utc(2025, 1, 31) and DateTime.fromISO(...) are fine.
    selector:
      "CallExpression[callee.object.name='DateTime'][callee.property.name=/^(local|utc)$/]:matches([arguments.length=0], [arguments.0.type='ObjectExpression'])",
    message: `DateTime.local()/utc() without date parts is "now". ${CLOCK}`,
  },
  {
    // The rules above match on the names DateTime and Settings; renaming them would hide a clock read.
    selector:
      "ImportDeclaration[source.value='luxon'] > ImportSpecifier[imported.name=/^(DateTime|Settings)$/]:not([local.name=/^(DateTime|Settings)$/])",
    message:
      'Import DateTime and Settings from luxon under their own names, so the clock rule can see them (docs/domain.md D5).',
  },
  {
    selector:
      "ImportDeclaration[source.value='luxon'] > :matches(ImportNamespaceSpecifier, ImportDefaultSpecifier)",
    message:
      "Use named imports from luxon (import { DateTime } from 'luxon'), so the clock rule can see them (docs/domain.md D5).",
  },
];

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'var/**',
      'coverage/**',
      // Root config files (jest.config.js, this file, .dependency-cruiser.cjs, ...): plain JS
      // outside tsconfig.json, so the type-aware parser cannot see them.
      '*.js',
      '*.cjs',
      '*.mjs',
    ],
  },

  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,

  {
    languageOptions: {
      parserOptions: {
        // One TypeScript program for the repo, from the root tsconfig.json (which includes
        // apps, libs, test, deploy). A .ts file outside it fails to parse: add it to "include".
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // The two type-aware rules that catch real async bugs; both are in recommendedTypeChecked,
      // restated here so nobody weakens them by accident. `void promise` marks a deliberate
      // fire-and-forget (e.g. `void bootstrap()`).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',

      // NestJS interfaces require Promise-returning methods (ICommandHandler.execute,
      // WorkerHost.process, OnModuleInit, ...) that often have nothing to await; `async` is the
      // clearest way to satisfy them, and this rule would flag every one. Missing awaits are caught
      // by no-floating-promises instead.
      '@typescript-eslint/require-await': 'off',

      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],

      // Libraries are imported by their index only: jest maps `@app/<lib>` and nothing deeper
      // (jest.config.js moduleNameMapper), so a deep import type-checks but fails under jest.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@app/[^/]+/',
              message: "Import a library by its index only: '@app/<lib>' (see jest.config.js).",
            },
          ],
        },
      ],

      eqeqeq: ['error', 'smart'],

      // Deliberately NOT enabled, as noise in a NestJS codebase:
      // - @typescript-eslint/no-extraneous-class (strict preset): Nest modules are empty decorated
      //   classes (`@Module({...}) export class AppModule {}`).
      // - @typescript-eslint/consistent-type-imports: with emitDecoratorMetadata, Nest's dependency
      //   injection needs constructor parameter types imported as values; `import type` breaks DI
      //   at run time.
      // - @typescript-eslint/no-empty-function / parameter-properties: injected constructors are
      //   `constructor(private readonly x: X) {}`.
    },
  },

  {
    // Tests: jest globals come from tsconfig's "types": ["jest"], so no globals config is needed
    // (no-undef is off for TypeScript files). Test doubles and HTTP response bodies
    // (`res.json()` is `any`) make the unsafe-* rules mostly noise here; production code keeps them.
    files: TEST_FILES,
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // `expect(mock.method).toHaveBeenCalled()` passes methods unbound on purpose.
      '@typescript-eslint/unbound-method': 'off',
    },
  },

  {
    // Plain-JS files outside the root (node scripts, test fixtures run as child processes) are not
    // in tsconfig.json: untyped rules only. package.json has no "type", so .js/.cjs are CommonJS.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    rules: {
      // Node's globals (require, __dirname, process, ...) without a globals list; TypeScript
      // files have no-undef off for the same reason.
      'no-undef': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },

  {
    // Keep these last so no other block overrides them for the domain (a later block setting
    // no-restricted-syntax/-properties for libs/domain must repeat these entries).
    files: ['libs/domain/**/*.{ts,mts,cts,js,mjs,cjs}'],
    rules: {
      'no-restricted-properties': ['error', ...domainRestrictedProperties],
      'no-restricted-syntax': ['error', ...domainRestrictedSyntax],
    },
  },
);
