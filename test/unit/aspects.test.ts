import { describe, expect, it } from 'vitest';
import { ASPECTS, describeAspects, differences, movesFrontends, type ServicePortState } from '../../src/plan/index.js';

const base: ServicePortState = {
  key: 'ns/a:http/TCP@4', namespace: 'ns', name: 'a', portName: 'http', protocol: 'TCP', family: 4,
  clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [],
  affinitySeconds: null, externalLocal: false, internal: [{ address: '10.0.0.1', port: 8080 }], external: [], hasEndpoints: true,
};

describe('typed change aspects', () => {
  const cases: [Partial<ServicePortState>, string][] = [
    [{ port: 81 }, 'clusterIP'],
    [{ nodePort: 30080 }, 'nodePort'],
    [{ externalIPs: ['192.0.2.1'] }, 'externalIPs'],
    [{ affinitySeconds: 60 }, 'affinity'],
    [{ externalLocal: true }, 'policy'],
    [{ internal: [{ address: '10.0.0.2', port: 8080 }] }, 'endpoints'],
  ];
  it.each(cases)('%o changes exactly %s', (patch, aspect) => {
    const what = differences(base, { ...base, ...patch });
    expect([...what]).toEqual([aspect]);
    expect(movesFrontends({ before: base, after: { ...base, ...patch }, what })).toBe(aspect !== 'endpoints');
  });
  it('an identical port has no aspects', () => expect(differences(base, { ...base }).size).toBe(0));
  it('renders the words the change text always used, in a fixed order', () => {
    expect(describeAspects(new Set(ASPECTS))).toBe('cluster IP/port, node port, external IPs, affinity, traffic policy, endpoints');
    expect(describeAspects(new Set(['endpoints', 'affinity'] as const))).toBe('affinity, endpoints');
  });
});
