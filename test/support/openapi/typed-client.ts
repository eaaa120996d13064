import { execFile } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { makeTmpDir, removeTmpDir } from '../tmp-dir';

const ROOT = resolve(__dirname, '../../..');

/**
 * A client module compiled against TypeScript types generated from an OpenAPI document, in a
 * temp dir of its own: `api-types.ts` (openapi-typescript's `paths`, `components`,
 * `operations`), the client's source, and a `node_modules` link to the repository's, so that
 * the client resolves openapi-fetch and @types/node as the repository does.
 */
export interface CompiledClient {
  dir: string;
  /** The generated types, as text. */
  types: string;
  /** Compiler diagnostics (strict, noEmit), formatted; empty when the client compiles. */
  diagnostics: string[];
  /** Loads the client transpiled to CommonJS (node's own require, outside jest's registry). */
  load<T>(): T;
  remove(): void;
}

/**
 * openapi-typescript's Node API (`openapiTS` + `astToString`), run in a child process: its
 * CommonJS build requires ESM-only packages, which node ≥ 20.19 loads and jest's registry does
 * not.
 */
const GENERATE = `
const { readFileSync, writeFileSync } = require('node:fs');
const { default: openapiTS, astToString } = require('openapi-typescript');
const [input, output] = process.argv.slice(1);
openapiTS(JSON.parse(readFileSync(input, 'utf8')), { silent: true }).then(
  (ast) => writeFileSync(output, astToString(ast)),
  (error) => { console.error(error); process.exit(1); },
);
`;

/** The document's types as TypeScript source (openapi-typescript), written to `output`. */
export async function generateTypes(document: unknown, output: string): Promise<string> {
  const input = `${output}.openapi.json`;
  writeFileSync(input, JSON.stringify(document));
  await promisify(execFile)(process.execPath, ['-e', GENERATE, input, output], { cwd: ROOT });
  return readFileSync(output, 'utf8');
}

/**
 * Generates the types of `document`, writes `clientSource` beside them as `client.ts` (it
 * imports `./api-types`) and type-checks it with the TypeScript compiler API: strict,
 * noUncheckedIndexedAccess, noEmit.
 */
export async function compileClient(
  document: unknown,
  clientSource: string,
): Promise<CompiledClient> {
  const dir = makeTmpDir('sub-eol-openapi-client-');
  try {
    const types = await generateTypes(document, join(dir, 'api-types.ts'));
    writeFileSync(join(dir, 'client.ts'), clientSource);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const options: ts.CompilerOptions = {
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      esModuleInterop: true,
      skipLibCheck: true,
    };
    const program = ts.createProgram([join(dir, 'client.ts')], options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) =>
      ts
        .formatDiagnostic(d, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => dir,
          getNewLine: () => '\n',
        })
        .trim(),
    );
    return {
      dir,
      types,
      diagnostics,
      load<T>(): T {
        const { outputText } = ts.transpileModule(clientSource, {
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
          },
        });
        const file = join(dir, 'client.cjs');
        writeFileSync(file, outputText);
        return createRequire(file)(file) as T;
      },
      remove: () => removeTmpDir(dir),
    };
  } catch (error) {
    removeTmpDir(dir);
    throw error;
  }
}
