import { describeConformance } from '../conformance/suite.js';
import { realTarget } from '../conformance/real.js';
import { iptablesInspector } from '../conformance/inspectors/iptables.js';

describeConformance('iptables (host kernel)', () => realTarget({ mode: 'iptables', inspector: iptablesInspector('nft'), dataplane: { iptablesBackend: 'nft' } }));
