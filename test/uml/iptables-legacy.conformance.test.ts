import { describeConformance } from '../../src/testing/conformance/suite.js';
import { realTarget } from '../conformance/real.js';
import { iptablesInspector } from '../conformance/inspectors/iptables.js';

// UML's kernel has no nftables ip family: this is where iptables-legacy is proven.
describeConformance('iptables-legacy (UML kernel)', () =>
  realTarget({ mode: 'iptables', inspector: iptablesInspector('legacy'), dataplane: { iptablesBackend: 'legacy' } }),
  // as iptables mode on the host: undefined cluster IP ports are not refused (README, semantics)
  { undefinedPorts: false },
);
