/**
 * Which bpffs bpf mode pins under, and the private one it mounts when there
 * is none (--bpffs auto, the default).
 *
 * auto: svcproxy's own bpffs at /run/svcproxy/bpffs when it is mounted, else
 * the system's /sys/fs/bpf when that is a bpffs, else a private bpffs is
 * mounted at /run/svcproxy/bpffs by the first apply. SVCPROXY_BPFFS replaces
 * both places (tests, the lab): used when it is a bpffs, mounted when not.
 * An explicit PATH is used as given and never mounted.
 *
 * Ownership across processes: a mount svcproxy made holds a directory MARK at
 * its root. bpffs takes no regular files, and the mark lives and dies with
 * the mount, so it cannot go stale. cleanup unmounts only a marked mount,
 * only when no instance's pins are left in it, and removes the mount point
 * when the mark says svcproxy created it. Never a mount svcproxy did not make.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SvcproxyError } from '../../errors.js';
import { mountAddon } from '../../native/mount.js';
import { isBpffs } from './fs.js';

export const OWN_BPFFS = '/run/svcproxy/bpffs';
export const SYSTEM_BPFFS = '/sys/fs/bpf';
/** at the root of a bpffs svcproxy mounted (no dot: bpffs refuses dotted names) */
export const MARK = 'svcproxy-mounted';
/** inside MARK: svcproxy also created the mount point directory */
const MADE_DIR = 'made-dir';

export interface BpffsLocation {
  /** the bpffs mount point the pins go under */
  path: string;
  /** --bpffs auto: svcproxy may mount a private bpffs here when none is */
  mayMount: boolean;
}

/** option: DataplaneOptions.bpffs, 'auto' (or unset) or a PATH */
export function bpffsLocation(option?: string): BpffsLocation {
  if (option && option !== 'auto') return { path: option, mayMount: false };
  const env = process.env.SVCPROXY_BPFFS;
  if (env) return { path: env, mayMount: true };
  if (isBpffs(OWN_BPFFS) || !isBpffs(SYSTEM_BPFFS)) return { path: OWN_BPFFS, mayMount: true };
  return { path: SYSTEM_BPFFS, mayMount: false };
}

/** did svcproxy mount the bpffs at path (any process, from its mark) */
export const mountedBySvcproxy = (path: string) => isBpffs(path) && existsSync(join(path, MARK));

const fsError = (e: unknown, op: string, path: string) =>
  new SvcproxyError(`${op} ${path}: ${e instanceof Error ? e.message : String(e)}`, {
    code: (e as NodeJS.ErrnoException).code ?? 'EIO',
    op,
    mode: 'bpf',
    cause: e,
  });

/** Make sure loc.path is a bpffs; mount a private one where auto allows. Returns whether it mounted. */
export async function ensureBpffs(loc: BpffsLocation, op: string): Promise<boolean> {
  if (isBpffs(loc.path)) return false;
  if (!loc.mayMount) throw noBpffs(loc.path, op);
  const path = resolve(loc.path);
  const made = !existsSync(path);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, 'bpffs.mkdir', path);
  }
  try {
    await mountAddon().bpffsMount({ path });
  } catch (e) {
    if (made) rmdirSync(path);
    if (e instanceof SvcproxyError) e.mode = 'bpf';
    throw e;
  }
  try {
    mkdirSync(join(path, MARK));
    if (made) mkdirSync(join(path, MARK, MADE_DIR));
  } catch (e) {
    // a bpffs svcproxy cannot mark is one it could not recognise later: undo it now
    await mountAddon().bpffsUnmount({ path });
    if (made) rmdirSync(path);
    throw fsError(e, 'bpffs.mark', path);
  }
  return true;
}

export const noBpffs = (path: string, op: string) =>
  new SvcproxyError(`no bpffs mounted at ${path} (mount -t bpf bpffs ${path}, or use --bpffs auto)`, { code: 'ENOMODE', op, mode: 'bpf' });

/**
 * After a cleanup: unmount the bpffs at path if svcproxy mounted it and no
 * pins are left in it (other instances keep it). Returns whether it unmounted.
 */
export async function releaseBpffs(path: string): Promise<boolean> {
  if (!mountedBySvcproxy(path)) return false;
  // dotted names (maps.debug, progs.debug) are the kernel's own: no one else can create them
  if (readdirSync(path).some((name) => name !== MARK && !name.includes('.'))) return false;
  const made = existsSync(join(path, MARK, MADE_DIR));
  await mountAddon().bpffsUnmount({ path: resolve(path) });
  if (made) {
    try {
      rmdirSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, 'bpffs.rmdir', path);
    }
  }
  return true;
}
