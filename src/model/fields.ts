/** Field-level validators shared by both input formats (zod schemas). */
import { isIP } from 'node:net';
import { z } from 'zod';

// RFC 1123 label (namespaces), RFC 1035 label (service names), as the API server checks.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
// IANA service name, used for port names: <=15 chars, a-z0-9 and '-', at least one letter.
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
// Object names in general (EndpointSlices, nodes): RFC 1123 subdomain.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const show = (v: unknown) => JSON.stringify(v);

export const namespaceName = z
  .string()
  .refine((s) => s.length <= 63 && DNS1123_LABEL.test(s), {
    error: (i) => `must be a DNS label (a-z, 0-9, '-', at most 63), got ${show(i.input)}`,
  });

export const serviceName = z
  .string()
  .refine((s) => s.length <= 63 && DNS1035_LABEL.test(s), {
    error: (i) => `must be a DNS-1035 label (starts with a-z; a-z, 0-9, '-'; at most 63), got ${show(i.input)}`,
  });

export const portName = z
  .string()
  .refine((s) => s === '' || (s.length <= 15 && IANA_SVC_NAME.test(s) && !s.includes('--') && /[a-z]/.test(s)), {
    error: (i) => `must be an IANA service name (a-z, 0-9, '-', at most 15, a letter), got ${show(i.input)}`,
  });

export const objectName = z
  .string()
  .refine((s) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s), {
    error: (i) => `must be a DNS subdomain name, got ${show(i.input)}`,
  });

export const ipAddress = z.string().refine((s) => isIP(s) !== 0, {
  error: (i) => `must be an IPv4 or IPv6 address, got ${show(i.input)}`,
});

export const portNumber = z
  .number({ error: (i) => `must be a port number 1-65535, got ${show(i.input)}` })
  .int({ error: (i) => `must be a port number 1-65535, got ${show(i.input)}` })
  .min(1, { error: (i) => `must be a port number 1-65535, got ${show(i.input)}` })
  .max(65535, { error: (i) => `must be a port number 1-65535, got ${show(i.input)}` });

export const protocol = z.enum(['TCP', 'UDP', 'SCTP'], {
  error: (i) => `must be TCP, UDP or SCTP, got ${show(i.input)}`,
});

export const targetPort = z.union([portNumber, portName.refine((s) => s !== '', 'must not be empty')], {
  error: (i) => `must be a port number 1-65535 or a port name, got ${show(i.input)}`,
});

export const trafficPolicy = z.enum(['Cluster', 'Local'], {
  error: (i) => `must be Cluster or Local, got ${show(i.input)}`,
});

export const sessionAffinity = z.enum(['None', 'ClientIP'], {
  error: (i) => `must be None or ClientIP, got ${show(i.input)}`,
});

// Kubernetes allows 1..86400 seconds for ClientIP affinity.
export const affinityTimeout = z
  .number()
  .int()
  .min(1)
  .max(86400, { error: (i) => `must be an integer 1-86400, got ${show(i.input)}` });

export const label = z.string().max(253);

export const trafficDistribution = z.enum(['PreferClose', 'PreferSameZone', 'PreferSameNode'], {
  error: (i) => `must be PreferClose, PreferSameZone or PreferSameNode, got ${show(i.input)}`,
});

/** EndpointSlice endpoints[].hints: forZones[].name, forNodes[].name */
export const endpointHints = z.looseObject({
  forZones: z.array(z.looseObject({ name: label })).nullish(),
  forNodes: z.array(z.looseObject({ name: objectName })).nullish(),
});

/** "a.b[2].c" from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || '(root)';
}

const FAMILY = { IPv4: 4, IPv6: 6 } as const;
export const ipFamily = z.enum(['IPv4', 'IPv6'], { error: (i) => `must be IPv4 or IPv6, got ${show(i.input)}` });

/**
 * As the API server's discovery validation: every address of an IPv4 (IPv6)
 * slice must be an IPv4 (IPv6) address; FQDN slices are not checked here.
 */
export function checkSliceAddresses(
  slice: { addressType: string; endpoints?: { addresses: string[] }[] | null },
  ctx: z.RefinementCtx,
): void {
  const want = FAMILY[slice.addressType as keyof typeof FAMILY];
  if (want === undefined) return;
  (slice.endpoints ?? []).forEach((ep, i) =>
    ep.addresses.forEach((a, k) => {
      if (isIP(a) !== want)
        ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'addresses', k], message: `must be an ${slice.addressType} address (addressType ${slice.addressType}), got ${show(a)}` });
    }),
  );
}

/** As the API server: ipFamilies[i] names the family of clusterIPs[i], without duplicates. */
export function checkIpFamilies(spec: { clusterIPs?: string[]; ipFamilies?: ('IPv4' | 'IPv6')[] }, ctx: z.RefinementCtx): void {
  const fams = spec.ipFamilies ?? [];
  if (new Set(fams).size !== fams.length) ctx.addIssue({ code: 'custom', path: ['ipFamilies'], message: `must not repeat a family, got ${show(fams)}` });
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    const fam = fams[i];
    if (fam !== undefined && isIP(ip) !== 0 && isIP(ip) !== FAMILY[fam])
      ctx.addIssue({ code: 'custom', path: ['ipFamilies', i], message: `must match the family of clusterIPs[${i}] ${show(ip)}, got ${fam}` });
  });
}
