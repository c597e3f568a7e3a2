/**
 * Make-before-break hand-over between two dataplanes. Both are programmed
 * for a moment; that is safe because the first NAT to claim a new
 * connection wins (netfilter applies one NAT binding per flow) and
 * connect-time translation happens before any packet exists. Established
 * connections keep their conntrack NAT binding (iptables, nftables) or their
 * connected socket (bpf); IPVS connections are drained before its state goes.
 */
import { SvcproxyError } from '../errors.js';
import type { Capability, Dataplane, DataplaneOptions } from '../dataplanes/types.js';
import { diff, type Family, type ServicePortState } from '../plan/index.js';
import { installKeeper, removeKeeper } from '../dataplanes/handover/keeper.js';

export interface SwitchResult {
  from: Dataplane['mode'];
  to: Dataplane['mode'];
  desired: ServicePortState[];
  /** ms spent programming and verifying the target, draining, removing the source */
  timings: { program: number; verify: number; drain: number; remove: number };
}

export interface HandOver {
  from: Dataplane;
  /** what `from` is (its traits decide the keeper) */
  fromCapability: Capability;
  to: Dataplane;
  desired: (families: Family[]) => ServicePortState[];
  drainTimeoutMs: number;
  /** where the keeper goes (the namespace, iptables flavour) */
  opts: DataplaneOptions;
}

export async function handOver(h: HandOver): Promise<SwitchResult> {
  const { from, to } = h;
  if (from.mode === to.mode) throw new SvcproxyError(`already in ${to.mode} mode`, { code: 'EINVAL', op: 'switch', mode: to.mode });
  const cap = await to.detect();
  if (!cap.usable) throw new SvcproxyError(`cannot switch to ${to.mode}: ${cap.reason}`, { code: 'ENOMODE', op: 'switch', mode: to.mode });
  const desired = h.desired(cap.families);
  const t = (start: number) => performance.now() - start;

  let s = performance.now();
  const actual = await to.read(); // leftovers of an earlier, interrupted switch are reconciled, not flushed
  await to.apply({ desired, actual, changes: diff(desired, actual) });
  const program = t(s);

  s = performance.now();
  const back = await to.read();
  const left = diff(desired, back);
  if (left.added.length + left.changed.length + left.removed.length > 0) {
    // The target is not what we asked for: keep the old mode, remove what we added.
    await to.cleanup().catch(() => {});
    throw new SvcproxyError(`switch to ${to.mode} aborted: the kernel does not hold the desired state after programming it`, {
      code: 'EVERIFY',
      op: 'switch',
      mode: to.mode,
    });
  }
  const verify = t(s);

  s = performance.now();
  await from.drain?.({ timeoutMs: h.drainTimeoutMs });
  const drain = t(s);

  s = performance.now();
  // The old mode's flows live on in conntrack: keep it (and the nat hooks) alive if the target will not.
  if (h.fromCapability.traits.nat && !cap.traits.holdsConntrack) await installKeeper(h.opts);
  await from.cleanup();
  if (cap.traits.holdsConntrack) await removeKeeper(h.opts);
  return { from: from.mode, to: to.mode, desired, timings: { program, verify, drain, remove: t(s) } };
}
