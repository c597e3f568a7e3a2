/**
 * Chain names and rule comments of svcproxy's iptables layout. Names derive
 * from a hash of the service port key (kube-proxy does the same): stable,
 * under the 28-character limit, and free of user text. Comments do carry the
 * key, which the model restricts to DNS labels; safeComment() re-checks it.
 */
import { createHash } from 'node:crypto';
import { SvcproxyError } from '../../errors.js';
import type { Backend } from '../../plan/types.js';

export const PREFIX = 'SVP-';
export const SERVICES = 'SVP-SERVICES';
export const NODEPORTS = 'SVP-NODEPORTS';
export const POSTROUTING = 'SVP-POSTROUTING';
export const MARK_MASQ = 'SVP-MARK-MASQ';
/** filter table: reject/drop for services without (local) endpoints */
export const FILTER = 'SVP-FILTER';

export const PORTALS_COMMENT = 'svcproxy service portals';
export const POSTROUTING_COMMENT = 'svcproxy postrouting';
export const FILTER_COMMENT = 'svcproxy no-endpoint services';

/** where svcproxy hooks into the built-in chains: [table, builtin, our chain, extra match] */
export const JUMPS: readonly { table: 'nat' | 'filter'; from: string; to: string; comment: string; match: string }[] = [
  { table: 'nat', from: 'PREROUTING', to: SERVICES, comment: PORTALS_COMMENT, match: '' },
  { table: 'nat', from: 'OUTPUT', to: SERVICES, comment: PORTALS_COMMENT, match: '' },
  { table: 'nat', from: 'POSTROUTING', to: POSTROUTING, comment: POSTROUTING_COMMENT, match: '' },
  { table: 'filter', from: 'INPUT', to: FILTER, comment: FILTER_COMMENT, match: '-m conntrack --ctstate NEW' },
  { table: 'filter', from: 'FORWARD', to: FILTER, comment: FILTER_COMMENT, match: '-m conntrack --ctstate NEW' },
  { table: 'filter', from: 'OUTPUT', to: FILTER, comment: FILTER_COMMENT, match: '-m conntrack --ctstate NEW' },
];

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16).toUpperCase();

/** internal endpoints of a service port (cluster IP traffic) */
export const svcChain = (key: string) => `SVP-SVC-${hash(key)}`;
/** entry for node-port / external / load-balancer traffic: masquerade policy */
export const extChain = (key: string) => `SVP-EXT-${hash(key)}`;
/** external endpoints, when they differ from the internal ones (Local policies) */
export const svxChain = (key: string) => `SVP-SVX-${hash(key)}`;
/** one endpoint of one service port */
export const sepChain = (key: string, b: Backend) => `SVP-SEP-${hash(`${key}|${b.address}:${b.port}`)}`;

const SAFE = /^[a-z0-9./:@= -]*$/i;

/** Quote a comment; refuses anything but the characters svcproxy itself writes. */
export function safeComment(text: string): string {
  if (!SAFE.test(text) || text.length > 200) {
    throw new SvcproxyError(`refusing unsafe rule comment ${JSON.stringify(text)}`, { code: 'EINVAL', op: 'render', mode: 'iptables' });
  }
  return `"${text}"`;
}

export type FrontendKind = 'cluster-ip' | 'external-ip' | 'lb-ip' | 'node-port';
export const frontendComment = (key: string, kind: FrontendKind) => `svp ${key} ${kind}`;
