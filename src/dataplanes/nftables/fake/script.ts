/**
 * The fake's reader of nft command text: the statements svcproxy sends
 * (ruleset.ts, objects.ts) and a little more, as typed commands. A statement
 * outside this subset is a syntax error, as libnftables would give for
 * nonsense, so a dataplane change that needs more shows up in the unit tests.
 */

export interface TableRef {
  family: string;
  name: string;
}

/** A set or map declaration: its body statements (`type ...`, `size N`, `flags ...`). */
export interface SetDecl {
  name: string;
  kind: 'set' | 'map';
  body: string[];
}

export interface BaseHook {
  type: string;
  hook: string;
  prio: number;
  policy: string;
}

export interface ChainDecl {
  name: string;
  base?: BaseHook;
  rules: string[];
}

export type Command =
  | { op: 'add table' | 'delete table'; table: TableRef; text: string }
  /** block: a `table F N { ... }` block (creates the table; `add set/chain` need it to exist) */
  | { op: 'declare'; table: TableRef; sets: SetDecl[]; chains: ChainDecl[]; block?: true; text: string }
  | { op: 'add rule'; table: TableRef; chain: string; rule: string; text: string }
  | { op: 'flush chain' | 'delete chain'; table: TableRef; chain: string; text: string }
  | { op: 'delete set'; table: TableRef; set: string; text: string }
  | { op: 'list chains'; text: string };

export class SyntaxError extends Error {}

/** Split at newlines and `;` outside braces and quotes; empty statements and `#` comments dropped. */
export function statements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  const push = () => {
    const s = cur.trim();
    if (s && !s.startsWith('#')) out.push(s);
    cur = '';
  };
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '{') depth++;
    else if (!quoted && ch === '}' && --depth < 0) throw new SyntaxError(`unbalanced '}' in: ${text.trim().slice(0, 80)}`);
    if (!quoted && depth === 0 && (ch === '\n' || ch === ';')) push();
    else cur += ch;
  }
  if (depth !== 0 || quoted) throw new SyntaxError(`unterminated block in: ${text.trim().slice(0, 80)}`);
  push();
  return out;
}

const NAME = '[A-Za-z0-9_./-]+';
const FAMILY = '(ip|ip6|inet|arp|bridge|netdev)';
const REF = `${FAMILY} (${NAME})`;

/** `head { body }`: the head words and the body between the outer braces. */
function block(s: string): { head: string; body: string } | undefined {
  const open = s.indexOf('{');
  if (open < 0 || !s.endsWith('}')) return undefined;
  return { head: s.slice(0, open).trim(), body: s.slice(open + 1, -1) };
}

/** chain priorities by name (nft(8) "PRIORITY"), for the families svcproxy uses */
const PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

function chainDecl(name: string, body: string): ChainDecl {
  const c: ChainDecl = { name, rules: [] };
  for (const s of statements(body)) {
    const hook = /^type (\w+) hook (\w+) priority (-?\d+|\w+)$/.exec(s);
    const policy = /^policy (accept|drop)$/.exec(s);
    if (hook) {
      const prio = PRIORITIES[hook[3]!] ?? Number(hook[3]);
      if (Number.isNaN(prio)) throw new SyntaxError(`unknown priority: ${s}`);
      c.base = { type: hook[1]!, hook: hook[2]!, prio, policy: c.base?.policy ?? 'accept' };
    } else if (policy) {
      if (!c.base) throw new SyntaxError(`policy in a chain without a hook: ${s}`);
      c.base.policy = policy[1]!;
    } else c.rules.push(s);
  }
  return c;
}

/** The declarations of a `table F N { ... }` block. */
function tableBody(table: TableRef, body: string, text: string): Command {
  const sets: SetDecl[] = [];
  const chains: ChainDecl[] = [];
  for (const s of statements(body)) {
    const b = block(s);
    const m = b && new RegExp(`^(set|map|chain) (${NAME})$`).exec(b.head);
    if (!b || !m) throw new SyntaxError(`unexpected in table block: ${s}`);
    if (m[1] === 'chain') chains.push(chainDecl(m[2]!, b.body));
    else sets.push({ name: m[2]!, kind: m[1] as 'set' | 'map', body: statements(b.body) });
  }
  return { op: 'declare', table, sets, chains, block: true, text };
}

function command(s: string): Command {
  const ref = (m: RegExpExecArray): TableRef => ({ family: m[2]!, name: m[3]! });
  const b = block(s);
  let m: RegExpExecArray | null;
  if (s === 'list chains') return { op: 'list chains', text: s };
  if ((m = new RegExp(`^(add|delete) table ${REF}$`).exec(s))) return { op: `${m[1] as 'add' | 'delete'} table`, table: ref(m), text: s };
  if (b && (m = new RegExp(`^(table) ${REF}$`).exec(b.head))) return tableBody(ref(m), b.body, s);
  if (b && (m = new RegExp(`^add (set|map) ${REF} (${NAME})$`).exec(b.head))) {
    const set: SetDecl = { name: m[4]!, kind: m[1] as 'set' | 'map', body: statements(b.body) };
    return { op: 'declare', table: ref(m), sets: [set], chains: [], text: s };
  }
  if ((m = new RegExp(`^add (chain) ${REF} (${NAME})$`).exec(b?.head ?? s))) {
    return { op: 'declare', table: ref(m), sets: [], chains: [chainDecl(m[4]!, b?.body ?? '')], text: s };
  }
  if ((m = new RegExp(`^add (rule) ${REF} (${NAME}) (.+)$`).exec(s))) return { op: 'add rule', table: ref(m), chain: m[4]!, rule: m[5]!, text: s };
  if ((m = new RegExp(`^(flush|delete) chain ${REF} (${NAME})$`).exec(s))) {
    return { op: `${m[1] as 'flush' | 'delete'} chain`, table: ref(m), chain: m[4]!, text: s };
  }
  if ((m = new RegExp(`^delete (set|map) ${REF} (${NAME})$`).exec(s))) return { op: 'delete set', table: ref(m), set: m[4]!, text: s };
  throw new SyntaxError(`syntax error (the fake does not know this statement): ${s}`);
}

/** Command text -> commands, in order. */
export function parseScript(text: string): Command[] {
  return statements(text).map(command);
}
