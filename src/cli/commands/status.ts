/** Which modes hold svcproxy state in a namespace (the kernel is the record). */
import { detectAll, open } from '../../api/proxy.js';
import { MODES, type DataplaneOptions, type Mode } from '../../dataplanes/types.js';

export async function programmedModes(opts: DataplaneOptions): Promise<Mode[]> {
  const caps = await detectAll(opts);
  const out: Mode[] = [];
  for (const mode of MODES) {
    if (!caps.find((c) => c.mode === mode)?.usable) continue;
    const proxy = await open({ mode, ...opts });
    try {
      if ((await proxy.read()).length > 0) out.push(mode);
    } finally {
      await proxy.close();
    }
  }
  return out;
}
