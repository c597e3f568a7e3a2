/**
 * Runs the TypeScript sources in place for the bpf benchmarks, without a
 * build step: `node --import ./bench/bpf-ts-loader.mjs bench/bpf-sync.ts`.
 * Imports of "./x.js" resolve to "./x.ts" when only the source exists, and
 * .ts files are transpiled (types dropped, no type check) with the project's
 * own TypeScript. Running from the sources keeps import.meta.url inside the
 * package, so the addon and dist/bpf are found as usual.
 */
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
const ts = createRequire(${JSON.stringify(import.meta.url)})('typescript');
export async function resolve(spec, ctx, next) {
  if (spec.endsWith('.js') && ctx.parentURL?.endsWith('.ts') && (spec.startsWith('.') || spec.startsWith('/'))) {
    const url = new URL(spec, ctx.parentURL);
    if (!existsSync(fileURLToPath(url))) {
      const ts = new URL(spec.slice(0, -3) + '.ts', ctx.parentURL);
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, shortCircuit: true };
    }
  }
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (!url.endsWith('.ts')) return next(url, ctx);
  const src = readFileSync(fileURLToPath(url), 'utf8');
  const out = ts.transpileModule(src, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
`),
);
