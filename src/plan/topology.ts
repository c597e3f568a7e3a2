/**
 * Topology-aware routing as kube-proxy 1.33+ applies it (pkg/proxy/topology.go,
 * with PreferSameTrafficDistribution on). kube-proxy reads only EndpointSlice
 * hints, never trafficDistribution itself (the EndpointSlice controller turns
 * that into hints; the concise format does the same in model/concise.ts).
 *
 * - node hints are used when every ready endpoint has one and one is for this node;
 * - else zone hints, when every ready endpoint has one and one is for this node's zone;
 * - else no topology: every endpoint is a candidate.
 * Only cluster (non-Local) traffic is filtered, and the serving-terminating
 * fallback ignores topology (best effort, like kube-proxy).
 */
import type { Endpoint } from '../model/types.js';

export type TopologyMode = '' | 'PreferSameNode' | 'PreferSameZone';

export interface TopologyNode {
  nodeName?: string;
  /** the Node's topology.kubernetes.io/zone label */
  zone?: string;
}

export function topologyMode(endpoints: Endpoint[], node: TopologyNode): TopologyMode {
  let allNodeHints = true;
  let forNode = false;
  let allZoneHints = true;
  let forZone = false;
  for (const e of endpoints) {
    if (!e.ready) continue;
    const zones = e.hints?.forZones ?? [];
    const nodes = e.hints?.forNodes ?? [];
    if (zones.length === 0) allZoneHints = false;
    else if (node.zone !== undefined && zones.includes(node.zone)) forZone = true;
    if (nodes.length === 0) allNodeHints = false;
    else if (node.nodeName !== undefined && nodes.includes(node.nodeName)) forNode = true;
  }
  if (allNodeHints && forNode) return 'PreferSameNode';
  if (allZoneHints && forZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(e: Endpoint, mode: TopologyMode, node: TopologyNode): boolean {
  if (mode === 'PreferSameNode') return node.nodeName !== undefined && (e.hints?.forNodes ?? []).includes(node.nodeName);
  if (mode === 'PreferSameZone') return node.zone !== undefined && (e.hints?.forZones ?? []).includes(node.zone);
  return true;
}

/** kube-proxy's clusterEndpoints: ready ones allowed by topology, else serving terminating ones. */
export function clusterEndpoints(endpoints: Endpoint[], node: TopologyNode): Endpoint[] {
  const mode = topologyMode(endpoints, node);
  const ready = endpoints.filter((e) => e.ready && availableForTopology(e, mode, node));
  return ready.length > 0 ? ready : endpoints.filter((e) => e.serving && e.terminating);
}
