import { describe, expect, it } from 'vitest';
import { parseServices } from '../../src/model/load.js';
import { diff, flatten, renderChangeSet } from '../../src/plan/index.js';

const one = (svc: Record<string, unknown>) =>
  flatten(parseServices(JSON.stringify({ services: [{ name: 's', clusterIP: '10.96.0.1', ports: [{ port: 80, targetPort: 8080 }], ...svc }] })).services, {
    nodeName: 'me',
    families: [4],
  });

describe('endpoint policy (kube-proxy CategorizeEndpoints)', () => {
  it('uses ready endpoints only', () => {
    const [s] = one({ endpoints: [{ address: '10.0.0.2' }, { address: '10.0.0.1', ready: false }] });
    expect(s!.internal).toEqual([{ address: '10.0.0.2', port: 8080 }]);
  });

  it('falls back to serving terminating endpoints when none is ready', () => {
    const [s] = one({
      endpoints: [
        { address: '10.0.0.1', ready: false, serving: true, terminating: true },
        { address: '10.0.0.2', ready: false, serving: false, terminating: true },
      ],
    });
    expect(s!.internal).toEqual([{ address: '10.0.0.1', port: 8080 }]);
    expect(s!.hasEndpoints).toBe(true);
  });

  it('externalTrafficPolicy Local: external traffic to local endpoints only', () => {
    const [s] = one({
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [{ port: 80, targetPort: 8080, nodePort: 30000 }],
      endpoints: [{ address: '10.0.0.1', nodeName: 'me' }, { address: '10.0.0.2', nodeName: 'other' }],
    });
    expect(s!.internal.map((b) => b.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(s!.external.map((b) => b.address)).toEqual(['10.0.0.1']);
    expect(s!.externalLocal).toBe(true);
  });

  it('internalTrafficPolicy Local without local endpoints drops (has endpoints elsewhere)', () => {
    const [s] = one({ internalTrafficPolicy: 'Local', endpoints: [{ address: '10.0.0.2', nodeName: 'other' }] });
    expect(s!.internal).toEqual([]);
    expect(s!.hasEndpoints).toBe(true);
  });

  it('has no external endpoints without external frontends', () => {
    const [s] = one({ endpoints: [{ address: '10.0.0.1' }] });
    expect(s!.external).toEqual([]);
  });

  it('programs only the families the mode supports', () => {
    const states = one({ clusterIPs: ['10.96.0.1', 'fd00::1'], clusterIP: undefined, endpoints: [{ address: '10.0.0.1' }, { address: 'fd00::9' }] });
    expect(states.map((s) => s.key)).toEqual(['default/s:/TCP@4']);
  });

  it('sorts endpoints numerically and drops duplicates', () => {
    const [s] = one({ endpoints: [{ address: '10.0.0.10' }, { address: '10.0.0.9' }, { address: '10.0.0.9' }] });
    expect(s!.internal.map((b) => b.address)).toEqual(['10.0.0.9', '10.0.0.10']);
  });
});

describe('diff and change text', () => {
  it('classifies added, changed and removed service ports', () => {
    const before = [...one({ endpoints: [{ address: '10.0.0.1' }] }), ...one({ name: 'gone', clusterIP: '10.96.0.2' })];
    const after = [...one({ endpoints: [{ address: '10.0.0.1' }, { address: '10.0.0.2' }] }), ...one({ name: 'new', clusterIP: '10.96.0.3' })];
    const c = diff(after, before);
    expect(c.added.map((s) => s.name)).toEqual(['new']);
    expect(c.removed.map((s) => s.name)).toEqual(['gone']);
    expect(c.changed.map((x) => [x.after.name, [...x.what]])).toEqual([['s', ['endpoints']]]);
    expect(renderChangeSet(c)).toBe(
      [
        '+ default/new TCP 10.96.0.3:80 -> no endpoints',
        '~ default/s TCP 10.96.0.1:80 -> 10.0.0.1:8080 10.0.0.2:8080  (endpoints)',
        '    was default/s TCP 10.96.0.1:80 -> 10.0.0.1:8080',
        '- default/gone TCP 10.96.0.2:80 -> no endpoints',
        '1 to add, 1 to change, 1 to remove, 0 unchanged',
      ].join('\n'),
    );
  });
});
