/** The fake's refusals, turned into the errors the addon gives (native/nft.cc, nft/elements.cc, nft/dump.cc). */
import { constants } from 'node:os';
import { SvcproxyError } from '../../../errors.js';

/** A kernel refusal: errno name and what was refused. */
export class Refused extends Error {
  constructor(
    readonly code: string,
    readonly what: string,
  ) {
    super(`${code}: ${what}`);
  }
}

/** strerror(3) of the errnos the fake gives */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  ENFILE: 'Too many open files in system',
};

const errnoOf = (code: string) => (constants.errno as Record<string, number>)[code];

/** libnftables refuses a command: ENFTABLES with its error text (no errno: libnftables does not give it). */
export function runError(r: Refused | Error): SvcproxyError {
  const why = r instanceof Refused ? `Could not process rule: ${STRERROR[r.code] ?? r.code}\n${r.what}` : r.message;
  return new SvcproxyError(`Error: ${why}`, { code: 'ENFTABLES', op: 'nft.run' });
}

/** A refused element batch or dump: the errno name and the kernel's text, as NativeError::SetErrno writes it. */
export function errnoError(op: 'nft.elements' | 'nft.dump', r: Refused): SvcproxyError {
  return new SvcproxyError(`${op}: ${STRERROR[r.code] ?? r.code} (${r.what})`, { code: r.code, op, errno: errnoOf(r.code) });
}
