/** Is bpf mode usable here, and if not, exactly why. */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { release } from 'node:os';
import { bpfAddon } from '../../native/bpf.js';
import type { Capability } from '../types.js';
import { objectPath } from './paths.js';
import { traitsOf } from '../traits.js';

// statfs f_type values (linux/magic.h)
export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const BPF_FS_MAGIC = 0xcafe4a11;
// capability bits (linux/capability.h)
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

export const fsType = (path: string): number | undefined => {
  try {
    return Number(statfsSync(path).type);
  } catch {
    return undefined;
  }
};

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

export async function detectBpf(cgroup: string | undefined, bpffs: string): Promise<Capability> {
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

  if (fsType(bpffs) !== BPF_FS_MAGIC) return result(`no bpffs mounted at ${bpffs} (mount -t bpf bpffs ${bpffs}, or pass --bpffs PATH)`);
  if (!existsSync(objectPath())) return result(`BPF object ${objectPath()} is missing: run npm run build:bpf`);
  if (cgroup === undefined) notes.push('needs --cgroup PATH (a cgroup v2 directory) to apply');
  else if (fsType(cgroup) !== CGROUP2_SUPER_MAGIC) return result(`--cgroup ${cgroup} is not a cgroup v2 directory`);
  notes.push('translates connect()/sendmsg() of sockets in the cgroup only: forwarded packets and NodePort from remote clients are out of scope');
  return result();
}
