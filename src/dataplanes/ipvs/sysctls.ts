/**
 * The per-namespace sysctls IPVS mode writes (net.ipv4.vs.*), as kube-proxy:
 * conntrack entries for IPVS connections (masquerade needs them), expire
 * connections to removed real servers and their persistence templates.
 * conn_reuse_mode=0 only before Linux 5.9: there it avoided a 1 s stall on
 * reused ports, but from 5.9 the kernel's own default (1) no longer stalls
 * and 0 would send reused connections to removed real servers
 * (kubernetes #102122, kube-proxy leaves it alone there).
 */
const ALWAYS = { conntrack: 1, expire_nodest_conn: 1, expire_quiescent_template: 1 };

/** true when "6.1.176-..." is at least major.minor */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

export function ipvsSysctls(kernelRelease: string): Record<string, number> {
  return kernelAtLeast(kernelRelease, 5, 9) ? { ...ALWAYS } : { ...ALWAYS, conn_reuse_mode: 0 };
}
