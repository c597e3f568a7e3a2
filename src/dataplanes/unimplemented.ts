/** A mode that is not built yet: detect() says so, everything else refuses. */
import { SvcproxyError } from '../errors.js';
import type { Dataplane, Mode } from './types.js';

export function unimplemented(mode: Mode): Dataplane {
  const refuse = async (): Promise<never> => {
    throw new SvcproxyError(`${mode} mode is not implemented yet`, { code: 'ENOMODE', op: 'open', mode });
  };
  return {
    mode,
    detect: async () => ({ mode, usable: false, reason: 'not implemented yet in this svcproxy version', versions: {}, families: [] }),
    read: refuse,
    apply: refuse,
    render: () => '',
    cleanup: refuse,
    close: async () => {},
  };
}
