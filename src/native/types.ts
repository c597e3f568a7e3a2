/**
 * Typed surface of the addon's core: init, exec. Each concern types its own
 * functions in its wrapper (netns.ts, nft.ts, ipvs.ts, ipset.ts, bpf.ts).
 */
import type { Netns } from './netns.js';

export interface ExecOptions {
  argv: string[];
  input?: string | Buffer;
  /** the namespace handle, a name (under /run/netns) or absolute path; empty = current */
  netns?: Netns;
}

export interface ExecResult {
  status: number;
  signal: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface NativeAddon {
  init(opts: { SvcproxyError: unknown }): void;
  exec(opts: ExecOptions): Promise<ExecResult>;
  // the other functions, typed by their wrappers (see above)
  [extra: string]: unknown;
}
