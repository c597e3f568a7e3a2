import { describe, expect, it } from 'vitest';
import { parseFlows, staleFlows } from '../../src/dataplanes/conntrack/reconcile.js';
import type { ServicePortState } from '../../src/plan/types.js';

const state: ServicePortState = {
  key: 'ns/dns:dns/UDP@4', namespace: 'ns', name: 'dns', portName: 'dns', protocol: 'UDP', family: 4,
  clusterIP: '10.96.0.53', port: 53, nodePort: 30053, externalIPs: [], loadBalancerIPs: [], affinitySeconds: null,
  externalLocal: false, internal: [{ address: '10.244.0.10', port: 8053 }], external: [{ address: '10.244.0.10', port: 8053 }], hasEndpoints: true,
};

const line = (o: { src: string; dst: string; dport: number; rsrc: string; rport: number }) =>
  `ipv4     2 udp      17 29 src=${o.src} dst=${o.dst} sport=40000 dport=${o.dport} src=${o.rsrc} dst=${o.src} sport=${o.rport} dport=40000 [ASSURED] mark=0 use=1`;

describe('stale UDP conntrack reconciler', () => {
  const flows = parseFlows(
    [
      line({ src: '10.0.0.2', dst: '10.96.0.53', dport: 53, rsrc: '10.244.0.10', rport: 8053 }), // current endpoint: kept
      line({ src: '10.0.0.2', dst: '10.96.0.53', dport: 53, rsrc: '10.244.0.11', rport: 8053 }), // endpoint left: stale
      line({ src: '10.0.0.2', dst: '10.96.0.53', dport: 53, rsrc: '10.96.0.53', rport: 53 }), // recorded un-NATed while rejecting: stale
      line({ src: '10.0.0.2', dst: '10.244.0.11', dport: 8053, rsrc: '10.244.0.11', rport: 8053 }), // not through a Service: kept
      line({ src: '10.0.0.2', dst: '10.96.0.54', dport: 53, rsrc: '10.244.0.11', rport: 8053 }), // not a Service frontend: kept
      line({ src: '10.0.0.2', dst: '192.168.1.1', dport: 30053, rsrc: '10.244.0.11', rport: 8053 }), // node port, old endpoint: stale
      line({ src: '10.0.0.2', dst: '192.168.1.1', dport: 30053, rsrc: '192.168.1.1', rport: 30053 }), // node port, un-NATed host socket: kept
    ].join('\n'),
  );

  it('parses the original and reply tuples of -o extended lines', () => {
    expect(flows).toHaveLength(7);
    expect(flows[1]).toEqual({ origSrc: '10.0.0.2', origDst: '10.96.0.53', sport: 40000, dport: 53, replySrc: '10.244.0.11', replySport: 8053 });
  });

  it('deletes only flows to a UDP frontend whose NAT target is no longer an endpoint', () => {
    expect(staleFlows(flows, [state])).toEqual([flows[1], flows[2], flows[5]]);
  });

  it('leaves TCP services alone', () => {
    expect(staleFlows(flows, [{ ...state, protocol: 'TCP' }])).toEqual([]);
  });
});
