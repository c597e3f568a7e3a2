/**
 * The only module that loads the .node addon. node-gyp-build looks for a
 * prebuild (prebuilds/linux-x64/...) and then build/Release; on failure we
 * throw one error that names what was tried and how to fix it.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { SvcproxyError } from '../errors.js';
import type { NativeAddon } from './types.js';

const require = createRequire(import.meta.url);
/** The package root: dist/native/binding.js -> ../.. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: NativeAddon | undefined;

export function native(): NativeAddon {
  if (cached) return cached;
  let addon: NativeAddon;
  try {
    const load = require('node-gyp-build') as (dir: string) => unknown;
    addon = load(packageRoot) as NativeAddon;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new SvcproxyError(
      `cannot load the svcproxy native addon (tried ${packageRoot}/prebuilds/${process.platform}-${process.arch}/ ` +
        `and ${packageRoot}/build/Release/svcproxy.node): ${why}. ` +
        `${fixHint(why)}`,
      { code: 'ENOADDON', op: 'load', cause: e },
    );
  }
  addon.init({ SvcproxyError });
  cached = addon;
  return addon;
}

/** Runtime needs only the shared libraries; a build from source needs the -dev packages and a compiler. */
const RUNTIME_PACKAGES: Record<string, string> = { 'libnftables.so': 'libnftables1', 'libbpf.so': 'libbpf1', 'libmnl.so': 'libmnl0' };

export function fixHint(why: string): string {
  const missing = Object.entries(RUNTIME_PACKAGES).filter(([lib]) => why.includes(lib)).map(([, pkg]) => pkg);
  if (missing.length > 0) return `Fix: apt-get install ${missing.join(' ')}`;
  return (
    'Fix: apt-get install libnftables1 libbpf1 libmnl0 (runtime); to build from source also ' +
    'libmnl-dev libnftables-dev libbpf-dev g++ make python3, then npm run build:native'
  );
}
