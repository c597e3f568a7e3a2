/**
 * One family's table as a unit of a sync: what the dataplane remembers of
 * it, and the kernel calls one sync makes in it (full.ts builds a table,
 * delta.ts changes one). index.ts runs the families side by side and sends
 * their calls together.
 */
import { differences } from '../../plan/diff.js';
import type { ServicePortState } from '../../plan/types.js';
import type { Elem, ElementOp, ElementPacker } from './encode.js';
import { ENDPOINTS, HAIRPIN, NODEPORT_ENDPOINTS, SERVICE_IPS, SERVICE_META, SERVICE_NODEPORTS, type PickKind, type SetName } from './names.js';
import type { PortClasses } from './objects.js';

/** What this dataplane last wrote in one family's table. */
export interface FamilyMemory {
  table: string;
  /** states only: a touched port's old objects are recomputed (portObjects is deterministic) */
  ports: Map<string, ServicePortState>;
  /** size classes of the ports whose verdicts kept a class wider than their count's (classFor) */
  classes: Map<string, PortClasses>;
  /** endpoint address -> number of service ports using it (hairpin set) */
  hairpin: Map<string, number>;
  /** shared pick chains present */
  picks: Set<string>;
  /** elements per set now, and the size each was declared with */
  counts: Map<SetName, number>;
  sizes: Map<SetName, number>;
}

/** The kernel calls of one family in one sync, and how memory follows them. */
export interface FamilyStep {
  /** nft text before the element batch, after it, and to undo `pre` when the batch fails */
  pre: string;
  post: string;
  undo: string;
  /** full apply: the family's elements, packed as they came */
  packer?: ElementPacker;
  /** element ops (render, deltas): deletes go before every family's adds */
  dels: ElementOp[];
  adds: ElementOp[];
  /** full: the family's memory after the sync (none: the family's table is gone) */
  memory?: FamilyMemory;
  /** delta: make the family's memory what the kernel holds (in place, no copy of 30k entries) */
  commit?: () => void;
  detail: Record<string, number>;
}

/** shared pick chains are built for the size classes up to max(this, most endpoints of any port) */
export const PRECREATED_PICKS = 16;
export const PICK_KINDS: PickKind[] = ['cluster', 'external', 'external-local', 'nodeport', 'nodeport-local'];
export const SET_NAMES: SetName[] = [SERVICE_IPS, SERVICE_NODEPORTS, ENDPOINTS, NODEPORT_ENDPOINTS, SERVICE_META, HAIRPIN];

export const hairpinElem = (a: string): Elem => ({ set: HAIRPIN, key: [a, a] });

/** Add d to a count per key. */
export const bump = (m: Map<string, number>, k: string, d: number) => m.set(k, (m.get(k) ?? 0) + d);

/**
 * Whether a family's read-back (its live table, none: undefined, and the
 * states in it) is what memory says this dataplane wrote there. When not,
 * the kernel changed behind its back (`nft`, another proxy's table swap) and
 * a delta computed from memory would skip what is missing.
 */
export function memoryAgrees(fm: FamilyMemory | undefined, table: string | undefined, states: ServicePortState[]): boolean {
  if (!fm) return states.length === 0;
  if (fm.table !== table || fm.ports.size !== states.length) return false;
  return states.every((s) => {
    const had = fm.ports.get(s.key);
    return had !== undefined && differences(had, s).size === 0;
  });
}
