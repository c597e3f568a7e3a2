import { describeCrashRecovery } from '../conformance/crash.js';

describeCrashRecovery({ modes: ['iptables', 'nftables', 'bpf'], services: 1000, kills: 20 });
