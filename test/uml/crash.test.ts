import { describeCrashRecovery } from '../conformance/crash.js';

// UML has one CPU: a smaller set, the same 20 kill points.
describeCrashRecovery({
  modes: ['ipvs'],
  services: 300,
  kills: 20,
  dataplane: { iptablesBackend: 'legacy' },
  cliFlags: ['--iptables', 'legacy'],
  timeoutMs: 600_000,
});
