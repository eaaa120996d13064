// One jest config for the whole repo.
// NestJS 12 ships ESM only and Jest 30 on Node 20 cannot require() it, so node_modules/@nestjs is
// transformed to CommonJS with SWC (@swc/jest) alongside our own TypeScript. SWC also emits the
// decorator metadata Nest's dependency injection needs.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

// What every project below shares: TypeScript through SWC, @app/<lib> imports, plain Node.
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // Packages below ship ESM only; everything else in node_modules stays untouched (fast).
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|cookie|content-disposition|file-type|strtok3|token-types|uint8array-extras|@tokenizer)/)',
  ],
  moduleNameMapper: {
    // Libraries are imported by their index only: @app/<lib> -> libs/<lib>/src.
    '^@app/([a-z-]+)$': '<rootDir>/libs/$1/src',
  },
};

/** @type {import('jest').Config} */
module.exports = {
  // Integration suites start real processes (redis-server, SQLite files); 5 s is too tight on 2 busy cores.
  testTimeout: 30_000,
  // One worker per core, not jest's default of one fewer (on 2 cores: 1, every file in a row). The
  // files mostly wait (on processes they start, Redis, PostgreSQL, timers): 17 integration files
  // on 2 workers took 114 s against 218 s one after the other, with 89 s of CPU in all.
  maxWorkers: '100%',
  // Every test file runs in a fresh worker process. Setting a memory limit keeps jest from running
  // the files inside its own process (what it does with one worker, i.e. on 2 cores), and a limit
  // below any file's footprint replaces the worker after each file. Without it, whatever one file
  // left reachable or running stayed for the rest of the run: by the NDJSON export test the live
  // heap was ~130 MB (up to 1.8 GB in some orders), each of its gc() samples took ~100 ms, and the
  // export crawled past its timeout. Measured: no slower overall (2m33 vs 2m30 for 26 files).
  // npm run test:unit lifts it: unit files start nothing and leave nothing running.
  workerIdleMemoryLimit: '1MB',
  // PostgreSQL for the whole run, in TEST_PG_URL for every worker: the variable's own value if set,
  // else the server on 127.0.0.1:5432, else a private one started here and stopped after the run
  // (test/support/postgres-harness.ts). These two files go through the transform below.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Three parts, each runnable alone (npm run test:unit, test:int, test:e2e; `npm test` runs all,
  // and `npx jest <path>` runs a file whichever part it is in):
  //   unit  specs next to the code in libs/ and apps/: no servers and no processes of their own
  //         (PostgresEventStore's spec uses the run's PostgreSQL, like every part may);
  //   int   test/ but e2e: contracts, integration (real redis-server, SQLite, PostgreSQL, killed
  //         processes), the production shape, deploy manifests and probes, the test harness;
  //   e2e   test/e2e: the whole api over HTTP, one app per file.
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/libs', '<rootDir>/apps'] },
    {
      ...shared,
      displayName: 'int',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
    },
    { ...shared, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
  ],
};
