/**
 * One IPVS virtual server per frontend of a service port, as kube-proxy's
 * IPVS mode lays them out: the cluster IP (internal endpoints), each
 * external and load-balancer IP, and the node port on each node address
 * (external endpoints). ClientIP affinity is IPVS persistence.
 */
import { IP_VS_SVC_F, IPPROTO, type IpvsServiceSpec } from '../../native/ipvs.js';
import type { Backend, ServicePortState } from '../../plan/types.js';

export interface VirtualServer {
  spec: IpvsServiceSpec;
  backends: Backend[];
  kind: 'cluster-ip' | 'external-ip' | 'lb-ip' | 'node-port';
}

export const vsKey = (s: Pick<IpvsServiceSpec, 'protocol' | 'address' | 'port'>) => `${s.protocol}/${s.address}/${s.port}`;

export function virtualServers(s: ServicePortState, o: { scheduler: string; nodeIPs: string[] }): VirtualServer[] {
  const base = {
    family: s.family,
    protocol: IPPROTO[s.protocol],
    scheduler: o.scheduler,
    flags: s.affinitySeconds !== null ? IP_VS_SVC_F.PERSISTENT : 0,
    timeout: s.affinitySeconds ?? 0,
    netmask: s.family === 6 ? 128 : 0xffffffff,
  };
  const out: VirtualServer[] = [{ spec: { ...base, address: s.clusterIP, port: s.port }, backends: s.internal, kind: 'cluster-ip' }];
  for (const ip of s.externalIPs) out.push({ spec: { ...base, address: ip, port: s.port }, backends: s.external, kind: 'external-ip' });
  for (const ip of s.loadBalancerIPs) out.push({ spec: { ...base, address: ip, port: s.port }, backends: s.external, kind: 'lb-ip' });
  if (s.nodePort !== null) {
    for (const ip of o.nodeIPs.filter((a) => a.includes(':') === (s.family === 6))) {
      out.push({ spec: { ...base, address: ip, port: s.nodePort }, backends: s.external, kind: 'node-port' });
    }
  }
  return out;
}

/** The addresses that must be local (bound on the holder) for IPVS to see the traffic. */
export const boundVIPs = (s: ServicePortState) => [s.clusterIP, ...s.externalIPs, ...s.loadBalancerIPs];
