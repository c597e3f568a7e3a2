/** Typed wrapper over native/mount.cc: mount(2)/umount2(2) of a bpffs, errno-coded failures. */
import { native } from './binding.js';

export interface MountAddon {
  /** mount -t bpf bpffs PATH (mode=0700, nosuid,nodev,noexec); PATH must exist */
  bpffsMount(opts: { path: string }): Promise<void>;
  /** umount PATH; EBUSY when in use (never a lazy detach) */
  bpffsUnmount(opts: { path: string }): Promise<void>;
}

export const mountAddon = (): MountAddon => native() as unknown as MountAddon;
