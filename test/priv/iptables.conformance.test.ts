import { describeConformance } from '../../src/testing/conformance/suite.js';
import { realTarget } from '../conformance/real.js';
import { iptablesInspector } from '../conformance/inspectors/iptables.js';

describeConformance('iptables (host kernel)', () => realTarget({ mode: 'iptables', inspector: iptablesInspector('nft'), dataplane: { iptablesBackend: 'nft' } }), {
  // undefined cluster IP ports are not refused in iptables mode (README, semantics: one rule per cluster IP on every new connection)
  undefinedPorts: false,
});
