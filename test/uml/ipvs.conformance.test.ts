import { describeConformance } from '../../src/testing/conformance/suite.js';
import { realTarget } from '../conformance/real.js';
import { ipvsInspector } from './ipvs.inspector.js';

describeConformance('ipvs (UML kernel)', () => realTarget({ mode: 'ipvs', inspector: ipvsInspector(), dataplane: { iptablesBackend: 'legacy' } }), {
  // the owned filter chain (ipvs/filter.ts): a reset before IPVS's own rate-limited ICMP, and
  // kube-proxy's KUBE-IPVS-FILTER for ports no service defines on a VIP
  undefinedPorts: true,
  refusesAtOnce: true,
  // not yet: IPVS masquerade and hairpin for IPv6 (masq.ts and hairpin.ts are IPv4-only)
  ipv6: false,
});
