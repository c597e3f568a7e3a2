/** What each figure is, said once for the HTML report and BENCHMARKS.md. */
export const METHOD_NOTES: readonly string[] = [
  'Sandbox: closed network namespaces (client -> node -> bridge -> backends, no link to the root namespace); rules live in the node namespace. Services: N ClusterIP services (port 80 -> 8080) x E endpoints, plus one single-endpoint service for iperf3.',
  'Latency: svp-load (compiled C, tools/svp-load.c) makes sequential new TCP connections, each connect() + first byte from the backend + close(); percentiles over the samples after 20 warm-up connections. First and last service = the first and last in every mode\'s ordering (names sort by index).',
  'Connection rate: svp-load with several threads making such connections for a fixed time, to the last service. Throughput: iperf3 (receiver side) through a VIP, iperf3 -s in a backend namespace.',
  'Direct path: the same tools to the backend\'s own address through the node namespace, measured before any mode programmed a rule (ratios are against it); "direct path while rules loaded" repeats it with the mode\'s rules in place, since every new connection crossing the node walks iptables\' nat PREROUTING.',
  'NAT modes measure from the client namespace. bpf balances at connect() time, so its load generator runs in the node namespace inside a cgroup the lab creates (and its direct path from there too).',
  'Full sync: wall time of Proxy.apply() of the whole set into an empty namespace (plan in TypeScript + kernel); "kernel" is the dataplane\'s own time in the kernel call. One endpoint change: the last service\'s last endpoint flips ready/not ready, median of several applies.',
  'Memory: RSS and V8 heap of the lab process (which holds the Proxy) after the sync; kernel = change of /proc/meminfo Slab + VmallocUsed + Percpu across the sync, host-wide (not per namespace, includes unrelated activity; /proc/slabinfo cannot be read per namespace).',
  'IPVS, where the host kernel lacks it, runs inside User-Mode Linux (one CPU, no JIT) with iptables measured in the same boot as its baseline: compare UML figures only with each other.',
];
