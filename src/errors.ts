/**
 * The one error class of svcproxy. Native code constructs it too (the loader
 * registers it with the addon), so kernel failures carry the errno name.
 *
 * code: an errno name ("EPERM", "ENOENT") or a svcproxy code:
 *   EINVAL      invalid user input (field names the offending field)
 *   ENOMODE     a mode is not usable on this kernel/host
 *   ENOIPVS     the kernel has no IPVS
 *   ERESTORE    iptables-restore refused a ruleset
 *   ENFTABLES   libnftables / the kernel refused an nftables transaction (message: libnftables' text)
 *   ENOADDON    the native addon could not be loaded
 */
export interface SvcproxyErrorDetails {
  code: string;
  op?: string;
  mode?: string;
  errno?: number;
  /** For input errors: the file the input came from. */
  file?: string;
  /** For input errors: the path of the offending field, e.g. items[2].spec.ports[0].port */
  field?: string;
  cause?: unknown;
}

export class SvcproxyError extends Error {
  readonly code: string;
  readonly op?: string;
  mode?: string;
  readonly errno?: number;
  readonly file?: string;
  readonly field?: string;

  constructor(message: string, details: SvcproxyErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SvcproxyError';
    this.code = details.code;
    this.op = details.op;
    this.mode = details.mode;
    this.errno = details.errno;
    this.file = details.file;
    this.field = details.field;
  }
}

/** An input error naming the field: "file: field: problem". */
export function invalidField(field: string, problem: string, file?: string): SvcproxyError {
  const where = [file, field].filter(Boolean).join(': ');
  return new SvcproxyError(`${where}: ${problem}`, { code: 'EINVAL', op: 'validate', field, file });
}

/** Attach the mode to a native error on its way out of a dataplane. */
export function withMode<T>(mode: string, p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    if (e instanceof SvcproxyError && e.mode === undefined) e.mode = mode;
    throw e;
  });
}
