/** The machine a run measured, and the kernel-side memory figure the lab can honestly read. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../native/binding.js';
import type { Machine } from './types.js';

const execFileP = promisify(execFile);

async function toolVersion(argv: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await execFileP(argv[0]!, argv.slice(1));
    return (stdout || stderr).split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

export async function describeMachine(): Promise<Machine> {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  const tools: Record<string, string> = {};
  for (const [name, argv] of [
    ['iperf3', ['iperf3', '--version']],
    ['iptables', ['iptables', '--version']],
    ['nft', ['nft', '--version']],
    ['cc', ['cc', '--version']],
  ] as const) {
    const v = await toolVersion([...argv]);
    if (v) tools[name] = v;
  }
  return {
    hostname: hostname(),
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotalKiB: Math.round(totalmem() / 1024),
    kernel: release(),
    node: process.version,
    svcproxy: pkg.version,
    tools,
  };
}

/**
 * Kernel memory that rules, maps and virtual servers live in: slab objects,
 * vmalloc'd blobs (iptables-legacy's rule table, big BPF maps) and per-CPU
 * counters. /proc/slabinfo is not per namespace, so this is host-wide.
 */
export function kernelMemoryKiB(meminfo = readFileSync('/proc/meminfo', 'utf8')): number {
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0);
  return field('Slab') + field('VmallocUsed') + field('Percpu');
}
