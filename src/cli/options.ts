/** Options every command shares, and their translation to DataplaneOptions. */
import { Option, type Command } from 'commander';
import { MODES, type DataplaneOptions, type Mode } from '../dataplanes/types.js';
import { invalidField } from '../errors.js';

export interface CommonFlags {
  netns?: string;
  cgroup?: string;
  bpffs?: string;
  nodeName?: string;
  nodeZone?: string;
  clusterCidr?: string;
  masqueradeAll?: boolean;
  scheduler?: string;
  iptables?: 'auto' | 'nft' | 'legacy';
  json?: boolean;
  quiet?: boolean;
}

export function common(cmd: Command): Command {
  return cmd
    .option('--netns <name>', 'network namespace where the rules live (default: the current one)')
    .option('--cgroup <path>', 'cgroup v2 directory bpf mode attaches to (other modes ignore it)')
    .option('--bpffs <auto|path>', 'bpffs bpf mode pins under: auto (/sys/fs/bpf, else a private one svcproxy mounts and cleanup unmounts) or a mounted PATH', 'auto')
    .option('--node-name <name>', "this node's name, for traffic policy Local (default: hostname)")
    .option('--node-zone <zone>', "this node's topology.kubernetes.io/zone, for EndpointSlice zone hints")
    .option('--cluster-cidr <cidr>', 'masquerade cluster-IP traffic from outside this CIDR')
    .option('--masquerade-all', 'masquerade all service traffic')
    .option('--scheduler <name>', 'IPVS scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf), default rr')
    .addOption(new Option('--iptables <flavour>', 'iptables flavour').choices(['auto', 'nft', 'legacy']).default('auto'))
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .option('-q, --quiet', 'print nothing but errors');
}

export const modeOption = () => new Option('--mode <mode>', `dataplane: ${MODES.join(', ')}`).choices([...MODES]);
/** for apply/diff: a mode or auto (the best usable one) */
export const applyModeOption = () => new Option('--mode <mode>', `dataplane: auto, ${MODES.join(', ')}`).choices(['auto', ...MODES]);

export function dataplaneOptions(f: CommonFlags): DataplaneOptions {
  return {
    netns: f.netns,
    cgroup: f.cgroup,
    bpffs: f.bpffs,
    nodeName: f.nodeName,
    nodeZone: f.nodeZone,
    clusterCIDR: f.clusterCidr,
    masqueradeAll: f.masqueradeAll,
    scheduler: f.scheduler,
    iptablesBackend: f.iptables,
  };
}

export function requireMode(mode: string | undefined): Mode | 'auto' {
  if (!mode) throw invalidField('--mode', `required: auto or one of ${MODES.join(', ')}`);
  return mode as Mode | 'auto';
}
