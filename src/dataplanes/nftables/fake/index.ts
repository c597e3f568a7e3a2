/**
 * An in-memory nftables for unit tests, behind the same NftMechanism the
 * dataplane uses for the kernel (as knftables' Fake stands in for nft):
 * tables, chains, sets and maps with their elements; a command text or an
 * element batch is one transaction (applied to a copy, kept only if all of
 * it succeeded); dumps and `list chains` answer as the addon does.
 * test/conformance/nft-mechanism.ts runs the same cases against this and
 * the real addon in a fresh namespace.
 */
import { SvcproxyError } from '../../../errors.js';
import type { NftDump, NftElementsResult, NftMechanism } from '../mechanism.js';
import { applyBatch, dumpSet } from './elements.js';
import { Refused, errnoError, runError } from './refused.js';
import { FakeRuleset } from './ruleset.js';
import { parseScript } from './script.js';

export type FakeNftCall =
  | { kind: 'run'; commands: string; json: boolean }
  | { kind: 'elements'; bytes: number }
  | { kind: 'dump'; family: 4 | 6; table: string; set: string };

export class FakeNftMechanism implements NftMechanism {
  private ruleset = new FakeRuleset();
  /** every call, in order (tests assert what a sync asked of the kernel) */
  readonly calls: FakeNftCall[] = [];
  closed = false;

  async run(o: { commands: string; json?: boolean }): Promise<string> {
    const json = o.json ?? false;
    this.calls.push({ kind: 'run', commands: o.commands, json });
    let commands;
    try {
      commands = parseScript(o.commands);
    } catch (e) {
      throw runError(e as Error);
    }
    if (commands.length === 1 && commands[0]!.op === 'list chains') {
      if (!json) throw new SvcproxyError('fake nftables: `list chains` only as JSON', { code: 'ENFTABLES', op: 'nft.run' });
      return this.ruleset.listChains();
    }
    const next = this.ruleset.clone();
    try {
      for (const c of commands) next.apply(c);
    } catch (e) {
      throw e instanceof Refused ? runError(e) : e;
    }
    this.ruleset = next;
    return '';
  }

  async elements(o: { packed: Uint8Array }): Promise<NftElementsResult> {
    this.calls.push({ kind: 'elements', bytes: o.packed.length });
    const next = this.ruleset.clone();
    try {
      const result = applyBatch(next, o.packed);
      this.ruleset = next;
      return result;
    } catch (e) {
      throw e instanceof Refused ? errnoError('nft.elements', e) : e;
    }
  }

  async dumpSet(o: { family: 4 | 6; table: string; set: string }): Promise<NftDump> {
    this.calls.push({ kind: 'dump', ...o });
    try {
      return dumpSet(this.ruleset, o);
    } catch (e) {
      throw e instanceof Refused ? errnoError('nft.dump', e) : e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The whole ruleset as canonical text: equal snapshots, equal rulesets (element order aside). */
  snapshot(): string {
    const tables = [...this.ruleset.tables.values()].map((t) => ({
      table: `${t.family} ${t.name}`,
      chains: [...t.chains].map(([n, c]) => ({ n, base: c.base, rules: c.rules })),
      sets: [...t.sets].map(([n, s]) => ({ n, decl: s.decl, elems: [...s.elems.keys()].sort().map((k) => Buffer.from(s.elems.get(k)!.bytes).toString('hex')) })),
    }));
    return JSON.stringify(tables);
  }
}
