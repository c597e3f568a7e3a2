/**
 * The contract every mode implements. Policy (what to change) is decided
 * above, in plan/; a dataplane renders a Plan for one kernel mechanism,
 * reads back what it owns, and removes exactly that.
 */
import type { Family, Plan, ServicePortState } from '../plan/types.js';
import type { NetnsHandle } from '../native/netns.js';
import type { ModeTraits } from './traits.js';

export type Mode = 'iptables' | 'nftables' | 'ipvs' | 'bpf';
export const MODES: readonly Mode[] = ['iptables', 'nftables', 'ipvs', 'bpf'];

export interface DataplaneOptions {
  /** network namespace where rules live: a name under /run/netns or a path (open() turns it into the handle every native call gets); default: current */
  netns?: string | NetnsHandle;
  /** cgroup v2 directory bpf mode attaches to (ignored by the other modes) */
  cgroup?: string;
  /**
   * bpffs bpf mode pins under: 'auto' (the default: /sys/fs/bpf when it is a
   * bpffs, else a private one svcproxy mounts at /run/svcproxy/bpffs and
   * unmounts at cleanup) or the PATH of a mounted bpffs (never mounted by svcproxy)
   */
  bpffs?: 'auto' | (string & {});
  /** this node's name, for Local traffic policies */
  nodeName?: string;
  /** this node's zone (its topology.kubernetes.io/zone label), for EndpointSlice zone hints */
  nodeZone?: string;
  /** sources outside this CIDR are masqueraded for cluster IPs (kube-proxy --cluster-cidr) */
  clusterCIDR?: string;
  /** masquerade all service traffic (kube-proxy --masquerade-all) */
  masqueradeAll?: boolean;
  /** the packet mark bit svcproxy uses for masquerade (default 0x2000) */
  masqueradeBit?: number;
  /** IPVS scheduler: rr (default) wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf (kube-proxy --ipvs-scheduler) */
  scheduler?: string;
  /** iptables flavour: auto (detect like kube-proxy), nft or legacy */
  iptablesBackend?: 'auto' | 'nft' | 'legacy';
  /** progress callback for long work (lab, big syncs) */
  onProgress?: (event: ProgressEvent) => void;
}

export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
}

export interface Capability {
  mode: Mode | 'fake';
  usable: boolean;
  /** why not usable, concrete: the missing feature, binary, library or privilege */
  reason?: string;
  /** versions found (kernel, iptables, libnftables...) */
  versions: Record<string, string>;
  families: Family[];
  /** what the mode is (NAT, keeps conntrack alive, needs a cgroup, rank): from traits.ts */
  traits: ModeTraits;
  /** more detail for `detect --json` */
  notes?: string[];
}

export interface ApplyStats {
  /** service ports whose kernel objects were (re)written */
  written: number;
  removed: number;
  /** wall time spent in the kernel call(s), ms */
  kernelMs: number;
  /** mode-specific counters (rules, map elements, messages) */
  detail?: Record<string, number>;
}

export interface Dataplane {
  /** 'fake' only for the in-memory dataplane used by unit tests */
  readonly mode: Mode | 'fake';
  /** usable here, and why not */
  detect(): Promise<Capability>;
  /** what svcproxy owns in the kernel now, as ServicePortStates */
  read(): Promise<ServicePortState[]>;
  /** program the change set; atomic per mode where the kernel allows it */
  apply(plan: Plan): Promise<ApplyStats>;
  /** the mode's own rendering of a plan (rules text), for --dry-run and golden tests */
  render(plan: Plan): string;
  /** remove everything this mode owns in the namespace, nothing else */
  cleanup(): Promise<void>;
  /**
   * Before a switch away from this mode removes its state: wait until
   * established connections no longer need it (IPVS: its connection table
   * drains). Modes whose connections live on in conntrack or in the socket
   * itself (iptables, nftables, bpf) need not implement it.
   */
  drain?(opts: { timeoutMs: number }): Promise<void>;
  /** release handles (native contexts, sockets) */
  close(): Promise<void>;
}

export type DataplaneFactory = (opts: DataplaneOptions) => Dataplane;
