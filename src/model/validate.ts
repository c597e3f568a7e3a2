/**
 * Checks across fields and objects that a schema cannot express: duplicate
 * services, port names, node ports and VIP:port:protocol conflicts.
 */
import { isIP } from 'node:net';
import { invalidField } from '../errors.js';
import type { ServiceSet } from './types.js';

/** pathOf(i): the field path of service i in the input, for messages. */
export function checkServiceSet(set: ServiceSet, file: string, pathOf: (i: number) => string): ServiceSet {
  const names = new Map<string, number>();
  const frontends = new Map<string, string>();
  const nodePorts = new Map<string, string>();
  const fail = (field: string, problem: string): never => {
    throw invalidField(field, problem, file);
  };
  const dup = (base: string, field: string, other: string, what: string) =>
    fail(`${base}.${field}`, `${what} is already used by ${other}`);

  set.services.forEach((s, i) => {
    const base = pathOf(i);
    const id = `${s.namespace}/${s.name}`;
    if (names.has(id)) fail(`${base}`, `duplicate service ${id} (also at ${pathOf(names.get(id)!)})`);
    names.set(id, i);

    const families = new Set(s.clusterIPs.map((ip) => isIP(ip)));
    if (families.size !== s.clusterIPs.length) fail(`${base}.clusterIPs`, 'at most one cluster IP per IP family');
    const portNames = new Set<string>();
    const portKeys = new Set<string>();
    s.ports.forEach((p, j) => {
      const pf = `ports[${j}]`;
      if (s.ports.length > 1 && p.name === '') fail(`${base}.${pf}.name`, 'required when a service has more than one port');
      if (portNames.has(p.name)) fail(`${base}.${pf}.name`, `duplicate port name ${JSON.stringify(p.name)}`);
      portNames.add(p.name);
      const pk = `${p.port}/${p.protocol}`;
      if (portKeys.has(pk)) fail(`${base}.${pf}.port`, `duplicate port ${pk}`);
      portKeys.add(pk);
      if (p.nodePort !== undefined) {
        if (s.type === 'ClusterIP') fail(`${base}.${pf}.nodePort`, 'only NodePort and LoadBalancer services have node ports');
        const nk = `${p.nodePort}/${p.protocol}`;
        const other = nodePorts.get(nk);
        if (other) dup(base, `${pf}.nodePort`, other, `node port ${nk}`);
        nodePorts.set(nk, id);
      }
      for (const ip of [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIPs]) {
        const fk = `${ip}:${p.port}/${p.protocol}`;
        const other = frontends.get(fk);
        if (other && other !== id) dup(base, pf, other, `${fk}`);
        frontends.set(fk, id);
      }
    });
    s.endpoints.forEach((e, j) => {
      for (const [name, port] of Object.entries(e.ports)) {
        if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${base}.endpoints[${j}].ports.${name}`, `must be a port number 1-65535, got ${port}`);
      }
    });
  });
  return set;
}
