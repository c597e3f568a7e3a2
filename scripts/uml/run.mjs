#!/usr/bin/env node
// Host-side entry: boot User-Mode Linux and run a command inside it.
//   node scripts/uml/run.mjs [--memory 2G] [--timeout SEC] -- <shell command...>
// Exits with the command's status. Loads src/sandbox/uml.ts through vite's
// module runner so no build step is needed.
import { createServer } from 'vite';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const opts = {};
while (argv.length && argv[0] !== '--') {
  const flag = argv.shift();
  const value = argv.shift();
  if (flag === '--memory') opts.memory = value;
  else if (flag === '--timeout') opts.timeoutMs = Number(value) * 1000;
  else {
    console.error(`run.mjs: unknown option ${flag}`);
    process.exit(2);
  }
}
argv.shift();
if (argv.length === 0) {
  console.error('usage: node scripts/uml/run.mjs [--memory 2G] [--timeout SEC] -- <command>');
  process.exit(2);
}
const server = await createServer({ root, logLevel: 'error', server: { middlewareMode: true, hmr: false, watch: null }, appType: 'custom' });
let status = 125;
try {
  const uml = await server.ssrLoadModule('/src/sandbox/uml.ts');
  const res = await uml.runInUml({ ...opts, command: argv.join(' '), cwd: process.cwd() });
  status = res.status;
  console.log(`\n[uml] command exited with status ${status} after ${(res.durationMs / 1000).toFixed(1)} s`);
} catch (e) {
  console.error(`[uml] ${e instanceof Error ? e.message : e}`);
} finally {
  await server.close();
}
process.exit(status);
