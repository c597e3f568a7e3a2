/**
 * Where bpf mode keeps its kernel objects: <bpffs>/svcproxy/<instance>/,
 * one instance per cgroup, so two svcproxy users (or tests) never share pins.
 */
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { packageRoot } from '../../native/binding.js';
import { bpffsLocation } from './bpffs.js';

/**
 * bpffs mount point: DataplaneOptions.bpffs (--bpffs PATH), else where auto
 * puts it (bpffs.ts: SVCPROXY_BPFFS, svcproxy's own, /sys/fs/bpf). An empty
 * value counts as unset, so a blank variable never means "the current dir".
 */
export const bpffsRoot = (option?: string) => bpffsLocation(option).path;

/** the compiled programs (npm run build:bpf); SVCPROXY_BPF_OBJECT overrides */
export const objectPath = () => process.env.SVCPROXY_BPF_OBJECT || join(packageRoot, 'dist', 'bpf', 'sock_lb.bpf.o');

export const pinRoot = (bpffs = bpffsRoot()) => join(bpffs, 'svcproxy');

/** "<last cgroup path part>-<hash of the whole path>", e.g. "svp-test-1-3f2a9c01d4e5" */
export function instanceName(cgroup: string): string {
  const full = resolve(cgroup);
  const tail = basename(full).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'root';
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 12);
  return `${tail}-${hash}`;
}

export interface PinPaths {
  dir: string;
  services: string;
  backends: string;
  meta: string;
  nodeAddrs: string;
  revnat: string;
  affinity: string;
  counters: string;
}

/** bpffs: the mount in use (bpffsRoot(opts.bpffs)); default: from the environment */
export function pinPaths(cgroup: string, bpffs = bpffsRoot()): PinPaths {
  const dir = join(pinRoot(bpffs), instanceName(cgroup));
  return {
    dir,
    services: join(dir, 'svp_services'),
    backends: join(dir, 'svp_backends'),
    meta: join(dir, 'svp_meta'),
    nodeAddrs: join(dir, 'svp_node_addrs'),
    revnat: join(dir, 'svp_revnat'),
    affinity: join(dir, 'svp_affinity'),
    counters: join(dir, 'svp_counters'),
  };
}

/** the eight programs of sock_lb.bpf.c, each pinned as link_<name> */
export const PROGRAMS = [
  'svp_connect4',
  'svp_sendmsg4',
  'svp_recvmsg4',
  'svp_getpeername4',
  'svp_connect6',
  'svp_sendmsg6',
  'svp_recvmsg6',
  'svp_getpeername6',
] as const;
