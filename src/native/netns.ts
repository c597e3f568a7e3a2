/**
 * The namespace handle: a network namespace opened ONCE (an fd plus the
 * namespace's identity, st_dev/st_ino of its nsfs file) and passed to every
 * native call. ServiceProxy opens one at open() and closes it at close(), so
 * a namespace deleted and created again under the same name cannot split one
 * proxy: every call keeps acting on the namespace it opened (native/netns.h).
 */
import { native } from './binding.js';

export interface NetnsHandle {
  /** the name or path as the user gave it (messages, ipvs record names) */
  readonly name: string;
  /** what was opened: /run/netns/NAME or the absolute path */
  readonly path: string;
  /** the open fd in this process (O_CLOEXEC: child programs do not inherit it) */
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
}

/**
 * Where a native call runs: a handle (what a ServiceProxy passes), a name
 * under /run/netns or a path (opened per call: tools, tests, the lab), or
 * ''/undefined for the current namespace.
 */
export type Netns = NetnsHandle | string | undefined;

interface NetnsAddon {
  netnsOpen(o: { path: string }): Promise<Omit<NetnsHandle, 'name'>>;
  netnsClose(o: { handle: NetnsHandle }): boolean;
}

const addon = () => native() as unknown as NetnsAddon;

/** Open `name` (a name under /run/netns or an absolute path) and check it can be entered. */
export async function openNetns(name: string): Promise<NetnsHandle> {
  const h = await addon().netnsOpen({ path: name });
  return Object.freeze({ name, ...h });
}

/** Close the handle's fd; false when it was closed already (then nothing is closed). */
export function closeNetns(handle: NetnsHandle): boolean {
  return addon().netnsClose({ handle });
}

export const isNetnsHandle = (ns: Netns): ns is NetnsHandle => typeof ns === 'object' && ns !== null;

/** The name as the user gave it ('' = current namespace). */
export const netnsName = (ns: Netns): string => (isNetnsHandle(ns) ? ns.name : (ns ?? ''));
