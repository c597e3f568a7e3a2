/** Which filesystem a path is on (statfs f_type), for the cgroup v2 and bpffs checks. */
import { statfsSync } from 'node:fs';

// statfs f_type values (linux/magic.h)
export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const BPF_FS_MAGIC = 0xcafe4a11;

export const fsType = (path: string): number | undefined => {
  try {
    return Number(statfsSync(path).type);
  } catch {
    return undefined;
  }
};

export const isBpffs = (path: string) => fsType(path) === BPF_FS_MAGIC;
