/**
 * Conformance cases for refusal: a service without endpoints refuses every
 * connect at once (TCP by a reset, so ICMP rate limiting cannot delay it),
 * UDP by port-unreachable, and, where the mode claims it, a cluster IP
 * refuses ports no service defines (kube-proxy's nftables mode). Timing is
 * asserted per connect: one slow refusal in a row of fast ones is the bug.
 */
import { expect, it } from 'vitest';
import type { Attempt } from '../../sandbox/topology.js';
import type { Features, Target } from './target.js';
import * as S from './services.js';

/** "well under 100 ms": a reset answers in about a millisecond; a suppressed ICMP costs a 1 s SYN retry */
export const REFUSE_MS = 100;
const SEQUENTIAL = 20;

const outcome = (a: Attempt[]) => a.map((x, i) => `#${i} ${x.proto} ${x.error ?? 'connected'}${x.ms < REFUSE_MS ? '' : ` after ${Math.round(x.ms)} ms`}`);
const refusedFast = (a: Attempt[]) => a.map((_, i) => `#${i} ${a[i]!.proto} ECONNREFUSED`);

export function describeRejectCases(target: () => Target, f: Features): void {
  if (!f.refusesAtOnce) {
    // IPVS answers a virtual server without real servers with ICMP itself; svcproxy does not yet put a reset before it
    it('refuses TCP to a service without endpoints with ECONNREFUSED (ICMP, rate-limited: not at once)', async () => {
      const t = target();
      await t.proxy.apply(S.webSet(t));
      const a = await t.connect([{ host: S.VIP_EMPTY, port: 80, proto: 'TCP' }], 3, 3000);
      expect(a.map((x) => `${x.proto} ${x.error}`)).toEqual(a.map(() => 'TCP ECONNREFUSED'));
    });
  } else it(`refuses each of ${SEQUENTIAL} TCP connects to a service without endpoints with ECONNREFUSED in under ${REFUSE_MS} ms`, async () => {
    const t = target();
    await t.proxy.apply(S.webSet(t));
    const a = await t.connect([{ host: S.VIP_EMPTY, port: 80, proto: 'TCP' }], SEQUENTIAL, 3000);
    expect(outcome(a)).toEqual(refusedFast(a));
  });

  if (f.udp) {
    it('refuses UDP to a service without endpoints with port-unreachable (ECONNREFUSED on a connected socket)', async () => {
      const t = target();
      await t.proxy.apply(S.webSet(t));
      // ICMP is rate-limited (a burst, then about one per second): a few exchanges, not a timed row
      const a = await t.connect([{ host: S.VIP_EMPTY, port: 80, proto: 'UDP' }], 3, 3000);
      expect(a.map((x) => `${x.proto} ${x.error}`)).toEqual(a.map(() => 'UDP ECONNREFUSED'));
    });
  }

  if (f.undefinedPorts) {
    it(`refuses a cluster IP's undefined port at once (TCP ECONNREFUSED in under ${REFUSE_MS} ms), defined ports still forward`, async () => {
      const t = target();
      await t.proxy.apply(S.webSet(t));
      // 10.96.0.10 defines TCP 80 only; 8080 is where the backends listen, so a leak would connect
      const a = await t.connect([{ host: S.VIP, port: 8080, proto: 'TCP' }, { host: S.VIP_MULTI, port: 82, proto: 'TCP' }], 5, 3000);
      expect(outcome(a)).toEqual(refusedFast(a));
      const ok = await t.connect([{ host: S.VIP, port: 80 }, { host: S.VIP_MULTI, port: 81 }], 3);
      expect(ok.filter((x) => !x.ok)).toEqual([]);
    });
  }
}
