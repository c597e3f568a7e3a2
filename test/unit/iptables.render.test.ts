import { describe, expect, it } from 'vitest';
import { renderRestore, type KernelView } from '../../src/dataplanes/iptables/restore.js';
import { parseSave } from '../../src/dataplanes/iptables/parse.js';
import { safeComment } from '../../src/dataplanes/iptables/names.js';
import { parseServices } from '../../src/model/load.js';
import { diff, flatten, type ServicePortState } from '../../src/plan/index.js';

const opts = { masqBit: 0x2000 };
const states = (yaml: string) => flatten(parseServices(yaml).services, { nodeName: 'me', families: [4] });
const plan = (desired: ServicePortState[], actual: ServicePortState[] = []) => ({ desired, actual, changes: diff(desired, actual) });
const empty = (): KernelView => ({ nat: new Set(), filter: new Set(), jumps: new Set() });

const base = states(`
services:
  - name: web
    type: NodePort
    clusterIP: 10.96.0.10
    externalIPs: [10.97.0.1]
    sessionAffinity: ClientIP
    sessionAffinityTimeoutSeconds: 600
    ports: [{ name: http, port: 80, targetPort: 8080, nodePort: 30080 }]
    endpoints: [{ address: 10.244.0.10 }, { address: 10.244.0.11 }]
  - name: dns
    clusterIP: 10.96.0.53
    ports: [{ port: 53, protocol: UDP, targetPort: 5353 }]
  - name: local
    type: NodePort
    externalTrafficPolicy: Local
    clusterIP: 10.96.0.20
    ports: [{ port: 80, targetPort: 8080, nodePort: 30081 }]
    endpoints: [{ address: 10.244.0.10, nodeName: me }, { address: 10.244.0.12, nodeName: other }]
`);

/** iptables-save prints what restore was given, less the -I jumps, with REJECT's default spelled out. */
function asSave(restore: string): { nat: string; filter: string } {
  const [nat, filter] = restore.split('*filter');
  const fix = (s: string) =>
    s
      .split('\n')
      .map((l) => l.replace(/^-I /, '-A ').replace(/-j REJECT$/, '-j REJECT --reject-with icmp-port-unreachable'))
      .join('\n');
  return { nat: fix(nat!), filter: fix(filter!) };
}

describe('iptables rendering', () => {
  it('renders a full sync (golden)', async () => {
    await expect(renderRestore(plan(base), empty(), opts).text).toMatchFileSnapshot('golden/iptables-full.txt');
  });

  it('parses its own rules back to the same states', () => {
    const text = renderRestore(plan(base), empty(), opts).text;
    const { nat, filter } = asSave(text);
    expect(parseSave(nat, filter).states).toEqual(base);
  });

  it('rewrites only the chains of a service whose endpoints changed', () => {
    const first = renderRestore(plan(base), empty(), opts);
    const next = base.map((s) => (s.name === 'web' ? { ...s, internal: s.internal.slice(0, 1), external: s.external.slice(0, 1) } : s));
    const r = renderRestore(plan(next, base), first.after, opts);
    const declared = r.text.split('\n').filter((l) => l.startsWith(':'));
    expect(declared.some((l) => l.startsWith(':SVP-SERVICES'))).toBe(false);
    expect(r.text).not.toContain('default/dns');
    expect(r.text).not.toContain('default/local');
    // The endpoint chain of the removed endpoint is flushed and deleted.
    expect(r.text.match(/^-X SVP-SEP-/gm)).toHaveLength(1);
    expect(r.text).not.toMatch(/^-I /m);
  });

  it('removes every chain of a removed service and rewrites the dispatch', () => {
    const first = renderRestore(plan(base), empty(), opts);
    const next = base.filter((s) => s.name !== 'web');
    const r = renderRestore(plan(next, base), first.after, opts);
    expect(r.text).toContain(':SVP-SERVICES - [0:0]');
    expect(r.text).not.toContain('10.96.0.10');
    expect(r.text.match(/^-X /gm)).toHaveLength(4); // SVC, EXT and two SEP chains, nothing else
  });

  it('refuses to write a comment with characters svcproxy never writes', () => {
    expect(() => safeComment('a" -j DROP')).toThrow(/unsafe rule comment/);
    expect(() => safeComment('x\n-A INPUT')).toThrow(/unsafe rule comment/);
  });
});
