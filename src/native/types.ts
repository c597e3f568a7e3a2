/** Typed surface of the native addon. Each concern adds its functions here. */
export interface ExecOptions {
  argv: string[];
  input?: string | Buffer;
  /** network namespace name (under /run/netns) or absolute path; empty = current */
  netns?: string;
}

export interface ExecResult {
  status: number;
  signal: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface NativeAddon {
  init(opts: { SvcproxyError: unknown }): void;
  checkNetns(name: string): Promise<void>;
  exec(opts: ExecOptions): Promise<ExecResult>;
  // nftables (native/nft.cc), ipvs (native/ipvs.cc), bpf (native/bpf.cc) add theirs below.
  [extra: string]: unknown;
}
