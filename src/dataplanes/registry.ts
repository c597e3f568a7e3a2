/** Mode name -> dataplane. Each mode lives in its own folder. */
import type { Dataplane, DataplaneOptions, Mode } from './types.js';

export async function createDataplane(mode: Mode, opts: DataplaneOptions): Promise<Dataplane> {
  switch (mode) {
    case 'iptables':
      return new (await import('./iptables/index.js')).IptablesDataplane(opts);
    case 'nftables':
      return (await import('./nftables/index.js')).createNftablesDataplane(opts);
    case 'ipvs':
      return (await import('./ipvs/index.js')).createIpvsDataplane(opts);
    case 'bpf':
      return (await import('./bpf/index.js')).createBpfDataplane(opts);
  }
}
