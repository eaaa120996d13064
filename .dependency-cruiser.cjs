// dependency-cruiser: the import rules of the house (docs/architecture.md "Rules of the house").
// Run: npm run lint:deps   (depcruise apps libs test --config .dependency-cruiser.cjs)
// Paths are relative to the repo root; @app/<lib> aliases resolve through tsconfig.json.

const TEST_FILE = '[.](?:spec|test|e2e-spec)[.][cm]?[jt]s$';
// Specs and test helpers inside libs/domain.
const DOMAIN_TEST_CODE = [
  '^libs/domain/.+[.](?:spec|test|e2e-spec)[.][cm]?[jt]s$',
  '^libs/domain/.*/testing/',
];
const LUXON = '^node_modules/(?:@types/)?luxon/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment:
        'libs/domain is pure: it may import luxon and files inside libs/domain only. No @nestjs/*, ' +
        'queues, Redis, database or event-store clients, no node core modules (fs, crypto, net, ...), ' +
        'no other libs, no apps. Time and ids come in with the command (docs/domain.md D5). ' +
        'Wire such things in at the edge (apps/, other libs) instead.',
      from: { path: '^libs/domain/', pathNot: DOMAIN_TEST_CODE },
      to: {
        // Everything is forbidden except luxon (its code and its @types) and libs/domain itself.
        // Node core modules ('fs', 'node:fs', ...) and unresolvable names never match this, so
        // they are forbidden too. Type-only imports count as well (tsPreCompilationDeps below).
        pathNot: ['^libs/domain/', LUXON],
      },
    },
    {
      name: 'domain-tests-are-pure',
      severity: 'error',
      comment:
        'Specs and test helpers (testing/) of libs/domain test the pure domain: besides luxon and ' +
        'libs/domain they may use fast-check (property tests) and @jest/globals, nothing else.',
      from: { path: DOMAIN_TEST_CODE },
      to: {
        pathNot: [
          '^libs/domain/',
          LUXON,
          '^node_modules/fast-check/',
          '^node_modules/@jest/globals/',
        ],
      },
    },
    {
      name: 'libs-not-to-apps',
      severity: 'error',
      comment: 'Apps may import libs; libs never import apps. Move what both need into a lib.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-not-to-other-apps',
      severity: 'error',
      comment:
        'An app does not import another app (api, worker, ops are deployed separately). ' +
        'Move what both need into a lib.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      comment:
        'Production code (apps/, libs/) does not import the test tree, spec files or test ' +
        'helpers (a testing/ folder). What production code needs belongs in the lib proper.',
      from: { path: '^(?:apps|libs)/', pathNot: [TEST_FILE, '/testing/'] },
      to: { path: ['^test/', TEST_FILE, '^(?:apps|libs)/.*/testing/'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'This import closes a cycle. Cycles break Nest dependency injection (a decorator sees an ' +
        'undefined class) and module initialisation order. Cycles made of type-only imports alone ' +
        'are harmless and not reported.',
      from: {},
      to: {
        circular: true,
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        "This module imports something that can't be resolved on disk: a typo, a missing " +
        'package (add it to package.json), or an @app/<lib> alias of a lib without src/index.ts.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment:
        "This module imports an npm package that isn't declared in package.json (it only works " +
        'because something else pulled it in). Add it to package.json.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-non-package-json-types',
      severity: 'warn',
      comment:
        'A type-only import of a package not declared in package.json (e.g. fastify types through ' +
        '@nestjs/platform-fastify). Harmless at run time, but its version is whatever the other ' +
        'package pulled in: declare it in package.json at that version.',
      from: {},
      to: {
        // dependencyTypes matches on "any of", so: type-only imports that are NOT of any other kind
        // than an undeclared package (npm-no-pkg / npm-unknown).
        dependencyTypes: ['type-only'],
        dependencyTypesNot: [
          'local',
          'localmodule',
          'core',
          'unknown',
          'npm',
          'npm-dev',
          'npm-optional',
          'npm-peer',
          'npm-bundled',
        ],
      },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'Production code (apps/, libs/) imports a devDependency, which is absent in a production ' +
        'install (npm ci --omit=dev). Move the package to dependencies, or the import to a test.',
      from: { path: '^(?:apps|libs)/', pathNot: [TEST_FILE, '/testing/'] },
      to: {
        dependencyTypes: ['npm-dev'],
        // Type-only imports are erased at compile time.
        dependencyTypesNot: ['type-only'],
        pathNot: ['node_modules/@types/'],
      },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Anchored on purpose: exclude also drops *dependencies* whose resolved path matches, and
    // packages resolve into node_modules/<pkg>/dist/ (an unanchored 'dist/' would hide them).
    exclude: { path: ['^dist/', '^var/', '^coverage/'] },
    moduleSystems: ['es6', 'cjs'],
    // Also see imports that only exist before compilation (type-only imports, `import type`):
    // the domain must not depend on framework types either.
    tsPreCompilationDeps: true,
    // Resolve the @app/* path aliases exactly as tsc does.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
