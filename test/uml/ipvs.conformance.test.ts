import { describeConformance } from '../../src/testing/conformance/suite.js';
import { realTarget } from '../conformance/real.js';
import { ipvsInspector } from './ipvs.inspector.js';

describeConformance('ipvs (UML kernel)', () => realTarget({ mode: 'ipvs', inspector: ipvsInspector(), dataplane: { iptablesBackend: 'legacy' } }), {
  // not yet: kube-proxy's KUBE-IPVS-FILTER equivalent (README, semantics)
  undefinedPorts: false,
  // not yet: IPVS itself answers a virtual server without real servers with ICMP port-unreachable (rate-limited)
  refusesAtOnce: false,
  // not yet: IPVS masquerade for IPv6 (helper "ipvs" turns this on when it works)
  ipv6: false,
});
