/**
 * The fast path for a big kubectl List in JSON: read the file in chunks and
 * hand out each element of the top-level "items" array as its own small text,
 * so the whole document is never built (or held) at once. Anything this
 * scanner does not expect (not an object, no items array, a non-object item,
 * a "services" key, bad nesting, trailing text) returns false and the
 * caller takes the ordinary path, which also reports syntax errors with lines.
 */
import { createReadStream } from 'node:fs';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Calls onItem with each item's text, in order (onItem false: stop); false when the file is not that shape. */
export async function readJsonItems(path: string, onItem: (text: string, index: number) => boolean, chunkBytes = 1 << 20): Promise<boolean> {
  const s = { depth: 0, inString: false, escape: false, key: [] as number[], lastKey: '', inItems: false, itemsDone: false, parts: [] as Buffer[], count: 0, bad: false, started: false };
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    if (!scan(chunk, s, onItem)) return false;
  }
  return s.started && s.depth === 0 && s.itemsDone && !s.bad;
}

type State = { depth: number; inString: boolean; escape: boolean; key: number[]; lastKey: string; inItems: boolean; itemsDone: boolean; parts: Buffer[]; count: number; bad: boolean; started: boolean };

function scan(chunk: Buffer, s: State, onItem: (text: string, index: number) => boolean): boolean {
  let itemStart = s.depth >= 3 && s.inItems ? 0 : -1;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (s.inString) {
      if (s.escape) s.escape = false;
      else if (b === BACKSLASH) s.escape = true;
      else if (b === QUOTE) {
        s.inString = false;
        if (s.depth === 1) s.lastKey = s.key.length < 64 ? String.fromCharCode(...s.key) : '';
      } else if (s.depth === 1 && s.key.length < 64) s.key.push(b);
      continue;
    }
    if (isSpace(b)) continue;
    if (s.depth === 0 && (s.started || b !== 0x7b)) return false; // not one object, or trailing text
    if (s.depth === 1 && b === QUOTE) s.key = [];
    if (s.depth === 1 && s.lastKey === 'services') return false; // the concise format
    if (s.depth === 2 && s.inItems && b !== 0x7b && b !== 0x2c && b !== 0x5d) return false; // a non-object item
    if (b === QUOTE) s.inString = true;
    else if (b === 0x7b || b === 0x5b) {
      if (s.depth === 0) s.started = true;
      if (s.depth === 1 && b === 0x5b && s.lastKey === 'items' && !s.itemsDone) s.inItems = true;
      if (s.depth === 2 && s.inItems) itemStart = i;
      s.depth++;
    } else if (b === 0x7d || b === 0x5d) {
      s.depth--;
      if (s.depth < 0) return false;
      if (s.depth === 2 && s.inItems) {
        s.parts.push(chunk.subarray(itemStart, i + 1));
        if (!onItem(Buffer.concat(s.parts).toString('utf8'), s.count++)) return false;
        s.parts = [];
        itemStart = -1;
      } else if (s.depth === 1 && s.inItems) {
        s.inItems = false;
        s.itemsDone = true;
      }
    }
  }
  if (itemStart >= 0) s.parts.push(Buffer.from(chunk.subarray(itemStart)));
  return true;
}
