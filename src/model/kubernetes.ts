/**
 * Kubernetes input: a `List` of v1 Services and discovery.k8s.io/v1
 * EndpointSlices exactly as `kubectl get svc,endpointslices -A -o yaml|json`
 * prints it (or a stream of such objects). Fields kube-proxy does not read
 * are ignored; the ones it reads are validated with their API paths.
 */
import { z } from 'zod';
import * as f from './fields.js';
import { DEFAULT_AFFINITY_TIMEOUT, type Endpoint, type IgnoredService, type Service } from './types.js';

const metadata = z.looseObject({
  name: f.objectName,
  namespace: f.namespaceName.default('default'),
  labels: z.record(z.string(), f.label).optional(),
});

const servicePort = z.looseObject({
  name: f.portName.default(''),
  protocol: f.protocol.default('TCP'),
  port: f.portNumber,
  targetPort: f.targetPort.optional(),
  nodePort: f.portNumber.optional(),
});

const clusterIP = z.union([f.ipAddress, z.literal('None'), z.literal('')]);

export const serviceSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: metadata.extend({ name: f.serviceName }),
  spec: z.looseObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
    clusterIP: clusterIP.optional(),
    clusterIPs: z.array(clusterIP).optional(),
    externalIPs: z.array(f.ipAddress).optional(),
    ipFamilies: z.array(f.ipFamily).max(2).optional(),
    ports: z.array(servicePort).optional(),
    sessionAffinity: f.sessionAffinity.default('None'),
    sessionAffinityConfig: z
      .looseObject({ clientIP: z.looseObject({ timeoutSeconds: f.affinityTimeout.optional() }).optional() })
      .optional(),
    externalTrafficPolicy: f.trafficPolicy.optional(),
    internalTrafficPolicy: f.trafficPolicy.optional(),
    trafficDistribution: f.trafficDistribution.optional(),
    healthCheckNodePort: f.portNumber.optional(),
  }).superRefine(f.checkIpFamilies),
  status: z
    .looseObject({
      loadBalancer: z
        .looseObject({ ingress: z.array(z.looseObject({ ip: f.ipAddress.optional() })).optional() })
        .optional(),
    })
    .optional(),
});

export const endpointSliceSchema = z.looseObject({
  apiVersion: z.literal('discovery.k8s.io/v1'),
  kind: z.literal('EndpointSlice'),
  metadata,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string()).min(1),
        conditions: z
          .looseObject({
            ready: z.boolean().nullish(),
            serving: z.boolean().nullish(),
            terminating: z.boolean().nullish(),
          })
          .optional(),
        nodeName: f.objectName.optional(),
        zone: f.label.optional(),
        hints: f.endpointHints.nullish(),
      }),
    )
    .nullish(),
  ports: z
    .array(
      z.looseObject({
        name: f.portName.nullish(),
        protocol: f.protocol.nullish(),
        port: f.portNumber.nullish(),
      }),
    )
    .nullish(),
}).superRefine(f.checkSliceAddresses);

export type KubeService = z.infer<typeof serviceSchema>;
export type KubeEndpointSlice = z.infer<typeof endpointSliceSchema>;

/** The label an EndpointSlice names its Service with. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** A Service or slice with this label belongs to another proxy (kube-proxy skips it). */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** The EndpointSlice controller marks headless Services' slices with this label. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export type FieldCheck = (ok: boolean, field: string, problem: string) => void;

/** "namespace/name" of the Service a slice belongs to, or undefined when kube-proxy ignores the slice. */
export function sliceOwner(slice: KubeEndpointSlice): string | undefined {
  if (slice.addressType === 'FQDN') return undefined; // kube-proxy ignores FQDN slices
  const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return owner ? `${slice.metadata.namespace}/${owner}` : undefined; // no owner: not managed for a Service
}

/** Merge one Service's slices into its endpoints (into `byAddress`, which may hold earlier slices). */
export function addSliceEndpoints(byAddress: Map<string, Endpoint>, slice: KubeEndpointSlice, path: string, check: FieldCheck): void {
  const ports: Record<string, number> = {};
  for (const p of slice.ports ?? []) if (p.port != null) ports[p.name ?? ''] = p.port;
  (slice.endpoints ?? []).forEach((ep, i) => {
    const address = ep.addresses[0]!; // kube-proxy uses the first address only
    check(f.ipAddress.safeParse(address).success, `${path}.endpoints[${i}].addresses[0]`, `must be an IP address, got ${JSON.stringify(address)}`);
    const ready = ep.conditions?.ready ?? true;
    const endpoint: Endpoint = {
      address,
      ports: { ...ports },
      ready,
      serving: ep.conditions?.serving ?? ready,
      terminating: ep.conditions?.terminating ?? false,
      nodeName: ep.nodeName,
      zone: ep.zone,
      ...(ep.hints ? { hints: { forZones: (ep.hints.forZones ?? []).map((z) => z.name), forNodes: (ep.hints.forNodes ?? []).map((n) => n.name) } } : {}),
    };
    const seen = byAddress.get(address);
    // The same address in two slices (rollover): keep the one that is ready.
    if (!seen || (!seen.ready && endpoint.ready)) byAddress.set(address, { ...seen, ...endpoint, ports: { ...seen?.ports, ...ports } });
  });
}

/** One Service and its endpoints as the model Service, or why kube-proxy does not program it. */
export function serviceFromKubernetes(s: KubeService, endpoints: Endpoint[]): Service | IgnoredService {
  const { name, namespace } = s.metadata;
  const spec = s.spec;
  const ignore = (reason: string): IgnoredService => ({ namespace, name, reason });
  if (spec.type === 'ExternalName') return ignore('ExternalName service (DNS only)');
  const ips = (spec.clusterIPs ?? (spec.clusterIP !== undefined ? [spec.clusterIP] : [])).filter((ip) => ip !== '');
  if (ips.includes('None')) return ignore('headless service (clusterIP: None)');
  if (ips.length === 0) return ignore('no cluster IP allocated yet');
  const ports = (spec.ports ?? []).map((p) => ({
    name: p.name,
    protocol: p.protocol,
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    nodePort: spec.type === 'ClusterIP' ? undefined : p.nodePort,
  }));
  if (ports.length === 0) return ignore('service has no ports');
  return {
    namespace,
    name,
    type: spec.type,
    clusterIPs: ips,
    externalIPs: spec.externalIPs ?? [],
    loadBalancerIPs: (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
    ports,
    sessionAffinity: spec.sessionAffinity,
    sessionAffinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT,
    externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster',
    internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
    ...(spec.trafficDistribution ? { trafficDistribution: spec.trafficDistribution } : {}),
    ...(spec.healthCheckNodePort !== undefined ? { healthCheckNodePort: spec.healthCheckNodePort } : {}),
    endpoints,
  };
}

export const isIgnored = (x: Service | IgnoredService): x is IgnoredService => 'reason' in x;

/** Join Services with their EndpointSlices the way kube-proxy does. */
export function fromKubernetes(
  services: KubeService[],
  slices: { slice: KubeEndpointSlice; path: string }[],
  check: FieldCheck,
): { services: Service[]; ignored: IgnoredService[] } {
  const endpointsByService = new Map<string, Map<string, Endpoint>>();
  for (const { slice, path } of slices) {
    const key = sliceOwner(slice);
    if (!key) continue;
    const byAddress = endpointsByService.get(key) ?? new Map<string, Endpoint>();
    endpointsByService.set(key, byAddress);
    addSliceEndpoints(byAddress, slice, path, check);
  }
  const out: Service[] = [];
  const ignored: IgnoredService[] = [];
  for (const s of services) {
    const endpoints = [...(endpointsByService.get(`${s.metadata.namespace}/${s.metadata.name}`)?.values() ?? [])];
    const x = serviceFromKubernetes(s, endpoints);
    if (isIgnored(x)) ignored.push(x);
    else out.push(x);
  }
  return { services: out, ignored };
}
