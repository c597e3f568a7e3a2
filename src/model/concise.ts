/**
 * svcproxy's own concise format, for users without Kubernetes:
 *
 *   services:
 *     - name: web               # namespace defaults to "default"
 *       clusterIP: 10.96.0.10   # or clusterIPs: [...]
 *       ports: [{ name: http, port: 80, targetPort: 8080 }]
 *       endpoints: [{ address: 10.1.0.2 }, { address: 10.1.0.3, ready: false }]
 *
 * Unknown keys are errors, so a typo is reported instead of ignored.
 */
import { z } from 'zod';
import * as f from './fields.js';
import { DEFAULT_AFFINITY_TIMEOUT, type EndpointHints, type Service, type TrafficDistribution } from './types.js';

/**
 * What the EndpointSlice controller writes for trafficDistribution (there is
 * no controller without Kubernetes): PreferClose and PreferSameZone hint each
 * endpoint for its own zone, PreferSameNode for its own node and zone.
 * An endpoint without a zone gets no zone hint, so kube-proxy's rule falls
 * back to all endpoints.
 */
function derivedHints(td: TrafficDistribution | undefined, e: { zone?: string; nodeName?: string }): EndpointHints | undefined {
  if (!td) return undefined;
  const forZones = e.zone ? [e.zone] : [];
  const forNodes = td === 'PreferSameNode' && e.nodeName ? [e.nodeName] : [];
  return forZones.length + forNodes.length > 0 ? { forZones, forNodes } : undefined;
}

const port = z.strictObject({
  name: f.portName.default(''),
  protocol: f.protocol.default('TCP'),
  port: f.portNumber,
  targetPort: f.targetPort.optional(),
  nodePort: f.portNumber.optional(),
});

const endpoint = z.strictObject({
  address: f.ipAddress,
  /** port per service port name; defaults to each port's numeric targetPort */
  ports: z.record(f.portName, f.portNumber).optional(),
  ready: z.boolean().default(true),
  serving: z.boolean().optional(),
  terminating: z.boolean().default(false),
  nodeName: f.objectName.optional(),
  zone: f.label.optional(),
  /** explicit hints; without them trafficDistribution derives them from zone/nodeName */
  hints: z.strictObject({ forZones: z.array(f.label).optional(), forNodes: z.array(f.objectName).optional() }).optional(),
});

const service = z.strictObject({
  name: f.serviceName,
  namespace: f.namespaceName.default('default'),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
  clusterIP: f.ipAddress.optional(),
  clusterIPs: z.array(f.ipAddress).optional(),
  externalIPs: z.array(f.ipAddress).default([]),
  loadBalancerIPs: z.array(f.ipAddress).default([]),
  ports: z.array(port).min(1, 'a service needs at least one port'),
  sessionAffinity: f.sessionAffinity.default('None'),
  sessionAffinityTimeoutSeconds: f.affinityTimeout.default(DEFAULT_AFFINITY_TIMEOUT),
  externalTrafficPolicy: f.trafficPolicy.default('Cluster'),
  internalTrafficPolicy: f.trafficPolicy.default('Cluster'),
  trafficDistribution: f.trafficDistribution.optional(),
  endpoints: z.array(endpoint).default([]),
});

export const conciseSchema = z.strictObject({
  apiVersion: z.literal('svcproxy/v1').optional(),
  kind: z.literal('ServiceSet').optional(),
  services: z.array(service),
});

export type ConciseInput = z.infer<typeof conciseSchema>;

export function fromConcise(doc: ConciseInput): Service[] {
  return doc.services.map((s) => {
    const ports = s.ports.map((p) => ({ ...p, targetPort: p.targetPort ?? p.port }));
    return {
      namespace: s.namespace,
      name: s.name,
      type: s.type,
      clusterIPs: s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : []),
      externalIPs: s.externalIPs,
      loadBalancerIPs: s.loadBalancerIPs,
      ports,
      sessionAffinity: s.sessionAffinity,
      sessionAffinityTimeoutSeconds: s.sessionAffinityTimeoutSeconds,
      externalTrafficPolicy: s.externalTrafficPolicy,
      internalTrafficPolicy: s.internalTrafficPolicy,
      ...(s.trafficDistribution ? { trafficDistribution: s.trafficDistribution } : {}),
      endpoints: s.endpoints.map((e) => ({
        address: e.address,
        ports:
          e.ports ??
          Object.fromEntries(ports.filter((p) => typeof p.targetPort === 'number').map((p) => [p.name, p.targetPort as number])),
        ready: e.ready,
        serving: e.serving ?? e.ready,
        terminating: e.terminating,
        nodeName: e.nodeName,
        zone: e.zone,
        ...withHints(e.hints ?? derivedHints(s.trafficDistribution, e)),
      })),
    };
  });
}

const withHints = (h: EndpointHints | undefined) => (h ? { hints: h } : {});
