/** Is bpf mode usable here, and if not, exactly why. */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { bpfAddon } from '../../native/bpf.js';
import type { Capability } from '../types.js';
import { mountedBySvcproxy, type BpffsLocation } from './bpffs.js';
import { CGROUP2_SUPER_MAGIC, fsType, isBpffs } from './fs.js';
import { objectPath } from './paths.js';
import { traitsOf } from '../traits.js';

export { BPF_FS_MAGIC, CGROUP2_SUPER_MAGIC, fsType } from './fs.js';
// capability bits (linux/capability.h)
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

function cgroup2Mounts(): string[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2] === 'cgroup2')
      .map((f) => f[1]!);
  } catch {
    return [];
  }
}

function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** the bpffs line of detect: a reason when bpf mode cannot pin, else a note */
function bpffsCheck(loc: BpffsLocation, canMount: boolean): { reason?: string; note?: string } {
  if (mountedBySvcproxy(loc.path)) return { note: `bpffs: ${loc.path} (a private one svcproxy mounted)` };
  if (isBpffs(loc.path)) return { note: `bpffs: ${loc.path}` };
  if (!loc.mayMount) return { reason: `no bpffs mounted at ${loc.path} (mount -t bpf bpffs ${loc.path}, or use --bpffs auto)` };
  if (!canMount) return { reason: `no bpffs mounted at ${loc.path}, and mounting one needs CAP_SYS_ADMIN` };
  return { note: `bpffs: will mount a private one at ${loc.path}` };
}

export async function detectBpf(cgroup: string | undefined, bpffs: BpffsLocation): Promise<Capability> {
  const versions: Record<string, string> = { kernel: release() };
  const notes: string[] = [];
  const result = (reason?: string): Capability => ({ mode: 'bpf', usable: reason === undefined, reason, versions, traits: traitsOf('bpf'), families: [4, 6], notes });

  const mounts = cgroup2Mounts();
  if (mounts.length === 0) return result('no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup)');
  notes.push(`cgroup v2 at ${mounts.join(', ')}`);
  const caps = effectiveCaps();
  const has = (bit: number) => (caps >> BigInt(bit)) & 1n;
  if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) return result('needs CAP_BPF or CAP_SYS_ADMIN (run as root)');

  let probe;
  try {
    probe = await bpfAddon().bpfProbe();
  } catch (e) {
    return result(`native addon unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  versions.libbpf = probe.libbpf;
  if (probe.bpfCode === 'ENOSYS') return result('the kernel has no bpf() syscall (CONFIG_BPF_SYSCALL)');
  if (probe.bpfErrno !== 0) return result(`the bpf() syscall fails: ${probe.bpfCode}`);

  const fs = bpffsCheck(bpffs, has(CAP_SYS_ADMIN) === 1n);
  if (fs.reason) return result(fs.reason);
  notes.push(fs.note!);
  if (!existsSync(objectPath())) return result(`BPF object ${objectPath()} is missing: run npm run build:bpf`);
  if (cgroup === undefined) notes.push('needs --cgroup PATH (a cgroup v2 directory) to apply');
  else if (fsType(cgroup) !== CGROUP2_SUPER_MAGIC) return result(`--cgroup ${cgroup} is not a cgroup v2 directory`);
  notes.push('translates connect()/sendmsg() of sockets in the cgroup only: forwarded packets and NodePort from remote clients are out of scope');
  return result();
}
