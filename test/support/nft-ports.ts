/**
 * Service ports of every kind the nftables layout has (cluster IP, UDP,
 * node port with external and load-balancer IPs, affinity, Local policy
 * with and without local endpoints, no endpoints, the longest identity),
 * for the nftables dataplane tests over the kernel and over the fake.
 */
import type { ServicePortState } from '../../src/plan/types.js';
import { endpointList as eps, portState, type PortFields } from './states.js';

const port = (o: PortFields): ServicePortState => portState(o, eps(3));

export const nftPorts = (): ServicePortState[] => [
  port({ name: 'web', clusterIP: '10.96.0.10' }),
  port({ name: 'web', portName: 'dns', protocol: 'UDP', port: 53, clusterIP: '10.96.0.10' }),
  port({ name: 'np', clusterIP: '10.96.0.11', nodePort: 30080, externalIPs: ['192.0.2.7'], loadBalancerIPs: ['198.51.100.9'] }),
  port({ name: 'sticky', clusterIP: '10.96.0.12', affinitySeconds: 600, nodePort: 30081 }),
  port({ name: 'local', clusterIP: '10.96.0.13', nodePort: 30082, externalLocal: true, external: eps(1, 11) }),
  port({ name: 'nolocal', clusterIP: '10.96.0.14', nodePort: 30083, externalLocal: true, external: [] }),
  port({ name: 'none', clusterIP: '10.96.0.15', internal: [], external: [], hasEndpoints: false }),
  // the longest identity: "namespace/name" + policy bits pass nft's 128-character comment, so they go to service-meta
  {
    ...port({ name: 'l'.repeat(63), clusterIP: '10.96.0.16', portName: 'p'.repeat(15), nodePort: 30084, affinitySeconds: 86400 }),
    namespace: 'n'.repeat(63),
    key: `${'n'.repeat(63)}/${'l'.repeat(63)}:${'p'.repeat(15)}/TCP@4`,
  },
];
