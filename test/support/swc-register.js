'use strict';
// Lets a plain `node` child process run the project's TypeScript (decorators, `@app/<lib>`
// aliases included), so crash tests can SIGKILL a real process running the real code:
//   node -r ./test/support/swc-register.js <file>.ts
// It compiles each .ts file with @swc/core (the compiler @swc/jest uses) when required. Outside
// jest, Node ≥ 20.19 require()s the ESM-only @nestjs packages natively.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '../..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveAlias(request, parent, ...rest) {
  const m = /^@app\/([a-z-]+)$/.exec(request);
  if (m) request = path.join(root, 'libs', m[1], 'src', 'index.ts');
  return resolveFilename.call(this, request, parent, ...rest);
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
