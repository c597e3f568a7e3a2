/**
 * svcproxy agent: run as a node agent fed by the API server (kube-proxy's
 * flags; a YAML --config with the same keys, flags win). SIGTERM/SIGINT stop
 * watching and serving and leave the rules in place, as kube-proxy does;
 * the exit status is 0.
 */
import { Option, type Command } from 'commander';
import { loadAgentConfig } from '../../agent/config.js';
import { MODES } from '../../dataplanes/types.js';

interface AgentFlags {
  config?: string;
  kubeconfig?: string;
  hostnameOverride?: string;
  clusterCidr?: string;
  masqueradeAll?: boolean;
  proxyMode?: string;
  nodeportAddresses?: string;
  healthzBindAddress?: string;
  metricsBindAddress?: string;
  minSyncPeriod?: string;
  syncPeriod?: string;
  serviceProxyName?: string;
  netns?: string;
  cgroup?: string;
  bpffs?: string;
  logLevel?: string;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run as a node agent: watch Services, EndpointSlices and this Node, program the kernel, serve /healthz and /metrics')
    .option('--config <file>', 'YAML file with the same settings (camelCase keys, as KubeProxyConfiguration); flags win')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, else the in-cluster service account)')
    .option('--hostname-override <name>', "this node's name (default: the hostname)")
    .option('--cluster-cidr <cidr>', 'masquerade cluster-IP traffic from outside this CIDR')
    .option('--masquerade-all', 'masquerade all service traffic')
    .addOption(new Option('--proxy-mode <mode>', 'dataplane (default auto)').choices(['auto', ...MODES]))
    .option('--nodeport-addresses <cidrs>', 'comma-separated CIDRs or "primary" (accepted; not honoured yet, see README)')
    .option('--healthz-bind-address <host:port>', '/healthz and /livez (default 0.0.0.0:10256; port 0: any)')
    .option('--metrics-bind-address <host:port>', '/metrics (default 127.0.0.1:10249; port 0: any)')
    .option('--min-sync-period <duration>', 'least time between syncs, e.g. 1s (default 1s)')
    .option('--sync-period <duration>', 'full reconcile period, e.g. 30s (default 30s)')
    .option('--service-proxy-name <name>', 'program only Services labelled service.kubernetes.io/service-proxy-name=<name>')
    .option('--netns <name>', 'network namespace where the rules live (default: the current one)')
    .option('--cgroup <path>', 'cgroup v2 directory bpf mode attaches to')
    .option('--bpffs <path>', 'bpffs mount bpf mode pins under (default /sys/fs/bpf)')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(['debug', 'info', 'warn', 'error']))
    .action(runAgent);
}

async function runAgent(f: AgentFlags): Promise<void> {
  const config = await loadAgentConfig(
    {
      kubeconfig: f.kubeconfig,
      hostnameOverride: f.hostnameOverride,
      clusterCIDR: f.clusterCidr,
      masqueradeAll: f.masqueradeAll,
      proxyMode: f.proxyMode,
      nodePortAddresses: f.nodeportAddresses?.split(',').map((s) => s.trim()),
      healthzBindAddress: f.healthzBindAddress,
      metricsBindAddress: f.metricsBindAddress,
      minSyncPeriod: f.minSyncPeriod,
      syncPeriod: f.syncPeriod,
      serviceProxyName: f.serviceProxyName,
      netns: f.netns,
      cgroup: f.cgroup,
      bpffs: f.bpffs,
      logLevel: f.logLevel,
    },
    f.config,
  );
  // loaded here, not at the top: the Kubernetes client and pino cost every other command ~0.4 s of start-up
  const [{ startAgent }, { createLogger }] = await Promise.all([import('../../agent/agent.js'), import('../../agent/log.js')]);
  const log = createLogger(config.logLevel);
  const agent = await startAgent({ config, log });
  const stopping = new Promise<string>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(sig));
  });
  const failed = agent.ready.then(
    () => new Promise<never>(() => {}),
    (e: unknown) => e,
  );
  const outcome = await Promise.race([stopping, failed]);
  if (typeof outcome === 'string') log.info({ signal: outcome }, 'stopping: leaving the rules in place');
  await agent.stop();
  if (typeof outcome !== 'string') throw outcome; // main() prints it in one line and exits 1
}
