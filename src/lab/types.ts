/** What the lab measures and how results.json is shaped (schema svcproxy-lab/1). */
import type { Mode } from '../dataplanes/types.js';

export interface LabOptions {
  /** service counts, ascending (default 1,1000,10000) */
  services?: number[];
  /** endpoints per service (default [4]) */
  endpoints?: number[];
  /** modes to try (default: all); unusable ones are reported with their reason */
  modes?: Mode[];
  /** sequential connections per latency figure (default 2000) */
  samples?: number;
  /** latency rounds per figure, each percentile the median over them (default 5) */
  rounds?: number;
  /** seconds of the connection-rate run (default 2) */
  rateSeconds?: number;
  /** concurrent connectors in the rate run (default 4) */
  rateThreads?: number;
  /** seconds of each iperf3 run; 0 skips iperf3 (default 3) */
  iperfSeconds?: number;
  /** endpoint changes timed per point (default 15) */
  changes?: number;
  /** a full sync still running after this long is aborted and the mode's larger sizes skipped (default 120) */
  syncTimeoutSeconds?: number;
  /** iptables flavour for iptables mode (default auto, as kube-proxy detects) */
  iptables?: 'auto' | 'nft' | 'legacy';
  /** directory for results.json and report.html (undefined: write nothing) */
  out?: string;
  /** write the raw results here (used inside UML, merged by the caller) */
  jsonOut?: string;
  /** run IPVS inside User-Mode Linux when the host lacks it (default true) */
  uml?: boolean;
  /** the command line, recorded in the report */
  command?: string;
  onProgress?: (p: LabProgress) => void;
  /** one-line notes while running (mode skipped, UML booting) */
  onLog?: (line: string) => void;
}

export interface LabProgress {
  /** what is being measured now, e.g. "iptables 1000x4: latency, last service" */
  phase: string;
  done: number;
  total: number;
}

/** Latency of sequential new connections, microseconds (from svp-load lat). */
export interface LatencySummary {
  samples: number;
  errors: number;
  min_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  /** p50 and p99 of every round when several were run (the summary holds each percentile's median) */
  rounds_p50_us?: number[];
  rounds_p99_us?: number[];
}

/** Connection rate with concurrency (from svp-load rate). */
export interface RateSummary {
  connections: number;
  errors: number;
  seconds: number;
  threads: number;
  per_second: number;
}

export interface ThroughputSummary {
  seconds: number;
  /** receiver-side bits per second (iperf3 end.sum_received) */
  bitsPerSecond: number;
  retransmits?: number;
}

/** The un-NATed path: origin -> backend address through the node, no svcproxy rules loaded. */
export interface DirectFigures {
  /** namespace the load generator ran in: "client", or "node" (inside the lab's cgroup, for bpf) */
  origin: Origin;
  latency: LatencySummary;
  rate: RateSummary;
  throughput?: ThroughputSummary;
}

export type Origin = 'client' | 'node';

export interface SyncFigures {
  /** wall time of ServiceProxy.apply() from an empty kernel state: plan + kernel */
  wallMs: number;
  /** time inside the kernel call(s), as the dataplane reports it */
  kernelMs: number;
  detail?: Record<string, number>;
}

export interface ChangeFigures {
  /** wall time of each ServiceProxy.apply() that changed one endpoint of the last service */
  wallMs: number[];
  kernelMs: number[];
  medianWallMs: number;
  medianKernelMs: number;
  /** service ports each change rewrote, as the dataplane counts them (1 expected) */
  written: number[];
}

export interface MemoryFigures {
  /** resident set of the lab process (which holds the ServiceProxy) after the full sync, KiB */
  rssKiB: number;
  /** V8 heap in use after the full sync, KiB */
  heapUsedKiB: number;
  /**
   * change of /proc/meminfo Slab + VmallocUsed + Percpu across the full sync,
   * KiB. Host-wide (not per namespace): includes unrelated kernel activity.
   */
  kernelDeltaKiB: number;
}

/** One mode at one size. */
export interface Point {
  services: number;
  endpoints: number;
  sync: SyncFigures;
  change: ChangeFigures;
  cleanupMs: number;
  memory: MemoryFigures;
  latency: {
    first: LatencySummary;
    last: LatencySummary;
    /** the direct path while this mode's rules are loaded (collateral cost) */
    directLoaded: LatencySummary;
    /** the direct path just before this sync, no rules loaded: the latency ratios' baseline (drift-proof on a shared machine) */
    directBefore?: LatencySummary;
  };
  rate: RateSummary;
  throughput?: ThroughputSummary;
}

export interface ModeResult {
  mode: Mode;
  usable: boolean;
  /** why not measured (detect()'s reason, or the error that stopped the run) */
  reason?: string;
  versions: Record<string, string>;
  notes?: string[];
  origin: Origin;
  points: Point[];
  /** the error that stopped this mode part-way (points measured before it are kept) */
  error?: string;
}

/** Everything measured under one kernel in one boot. */
export interface KernelRun {
  /** "host", or "uml" (User-Mode Linux guest) */
  where: 'host' | 'uml';
  kernel: string;
  directs: DirectFigures[];
  modes: ModeResult[];
  /** what the lab created for this run (all removed at its end) */
  sandbox?: { namespaces: string[]; cgroup?: string; bpffs?: string };
}

export interface Machine {
  hostname: string;
  nproc: number;
  cpuModel: string;
  memTotalKiB: number;
  kernel: string;
  node: string;
  svcproxy: string;
  tools: Record<string, string>;
}

export interface LabResults {
  schema: 'svcproxy-lab/1';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  options: Required<Pick<LabOptions, 'services' | 'endpoints' | 'samples' | 'rounds' | 'rateSeconds' | 'rateThreads' | 'iperfSeconds' | 'changes' | 'syncTimeoutSeconds'>>;
  runs: KernelRun[];
}
