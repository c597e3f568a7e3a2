/**
 * Re-check every value that ends up in nft text. The model validates input
 * already; this is the last line before the kernel, so nothing a user wrote
 * can become nft syntax (rule injection) even if a caller skipped the model.
 */
import { isIP } from 'node:net';
import { invalidField } from '../../errors.js';
import type { Backend, ServicePortState } from '../../plan/types.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME = /^([a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?)?$/;
const CIDR4 = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const CIDR6 = /^[0-9a-fA-F:]+\/\d{1,3}$/;

const isPort = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

export function validatePorts(states: readonly ServicePortState[]): void {
  for (const s of states) validatePort(s);
}

function validatePort(s: ServicePortState): void {
  const at = `service ${JSON.stringify(s.key)}`;
  const field = (f: string) => `${at}.${f}`;
  if (!DNS_LABEL.test(s.namespace)) throw invalidField(field('namespace'), 'must be a DNS label');
  if (!DNS_LABEL.test(s.name)) throw invalidField(field('name'), 'must be a DNS label');
  if (!PORT_NAME.test(s.portName)) throw invalidField(field('portName'), 'must be empty or a DNS label of at most 15 characters');
  if (!['TCP', 'UDP', 'SCTP'].includes(s.protocol)) throw invalidField(field('protocol'), 'must be TCP, UDP or SCTP');
  if (s.family !== 4 && s.family !== 6) throw invalidField(field('family'), 'must be 4 or 6');
  const addr = (f: string, a: unknown) => {
    if (typeof a !== 'string' || isIP(a) !== s.family) throw invalidField(field(f), `must be an IPv${s.family} address`);
  };
  addr('clusterIP', s.clusterIP);
  if (!isPort(s.port)) throw invalidField(field('port'), 'must be an integer 1-65535');
  if (s.nodePort !== null && !isPort(s.nodePort)) throw invalidField(field('nodePort'), 'must be null or an integer 1-65535');
  s.externalIPs.forEach((a, i) => addr(`externalIPs[${i}]`, a));
  s.loadBalancerIPs.forEach((a, i) => addr(`loadBalancerIPs[${i}]`, a));
  if (s.affinitySeconds !== null && !(Number.isInteger(s.affinitySeconds) && s.affinitySeconds >= 1 && s.affinitySeconds <= 86400)) {
    throw invalidField(field('affinitySeconds'), 'must be null or an integer 1-86400');
  }
  const backends = (f: string, list: Backend[]) =>
    list.forEach((b, i) => {
      addr(`${f}[${i}].address`, b.address);
      if (!isPort(b.port)) throw invalidField(field(`${f}[${i}].port`), 'must be an integer 1-65535');
    });
  backends('internal', s.internal);
  backends('external', s.external);
}

export function validateCIDR(cidr: string, field = 'clusterCIDR'): void {
  const [addr, len] = cidr.split('/');
  const fam = isIP(addr ?? '');
  const ok = (fam === 4 && CIDR4.test(cidr) && Number(len) <= 32) || (fam === 6 && CIDR6.test(cidr) && Number(len) <= 128);
  if (!ok) throw invalidField(field, `${JSON.stringify(cidr)} is not an IP prefix like 10.0.0.0/8`);
}
