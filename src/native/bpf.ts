/** Typed wrapper over the bpf mode's native functions (native/bpf.cc). */
import { native } from './binding.js';

export interface BpfProbe {
  /** libbpf version, "1.1" */
  libbpf: string;
  /** errno of creating a one-element map, 0 when the bpf() syscall works */
  bpfErrno: number;
  bpfCode: string;
}

export interface BpfLoadOptions {
  /** path of dist/bpf/sock_lb.bpf.o */
  object: string;
  /** bpffs directory svcproxy owns for this instance */
  pinDir: string;
  /** cgroup v2 directory the programs attach to */
  cgroup: string;
}

export interface BpfLoadResult {
  /** everything was pinned already (a previous process): re-adopted, nothing loaded */
  adopted: boolean;
  links: string[];
  maps: string[];
}

export interface BpfMapOp {
  /** pinned map path */
  path: string;
  op: 'update' | 'delete';
  /** packed keys, the map's key size each */
  keys: Buffer;
  /** packed values (update only) */
  values?: Buffer;
}

export interface BpfMapDump {
  keySize: number;
  /** per element as dumped (per-CPU maps: one value per possible CPU, 8-byte aligned) */
  valueSize: number;
  count: number;
  keys: Buffer;
  values: Buffer;
}

export interface BpfAddon {
  bpfProbe(): Promise<BpfProbe>;
  bpfLoad(opts: BpfLoadOptions): Promise<BpfLoadResult>;
  bpfUnload(pinDir: string): Promise<void>;
  /** runs the batches in order, stops at the first failure */
  bpfMapOps(ops: BpfMapOp[]): Promise<void>;
  bpfMapDump(path: string): Promise<BpfMapDump>;
}

/** The bindings as native/bpf.cc exports them: one options object each (native/args.h). */
interface BpfNative {
  bpfProbe(): Promise<BpfProbe>;
  bpfLoad(o: BpfLoadOptions): Promise<BpfLoadResult>;
  bpfUnload(o: { pinDir: string }): Promise<void>;
  bpfMapOps(o: { ops: BpfMapOp[] }): Promise<void>;
  bpfMapDump(o: { path: string }): Promise<BpfMapDump>;
}

let wrapper: BpfAddon | undefined;

export function bpfAddon(): BpfAddon {
  if (wrapper) return wrapper;
  const n = native() as unknown as BpfNative;
  wrapper = {
    bpfProbe: () => n.bpfProbe(),
    bpfLoad: (opts) => n.bpfLoad(opts),
    bpfUnload: (pinDir) => n.bpfUnload({ pinDir }),
    bpfMapOps: (ops) => n.bpfMapOps({ ops }),
    bpfMapDump: (path) => n.bpfMapDump({ path }),
  };
  return wrapper;
}
