/** bpf mode (placeholder until its issue lands). */
import { unimplemented } from '../unimplemented.js';
import type { Dataplane, DataplaneOptions } from '../types.js';

export function createBpfDataplane(_opts: DataplaneOptions): Dataplane {
  return unimplemented('bpf');
}
