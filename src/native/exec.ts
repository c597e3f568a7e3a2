/** Run a program inside a network namespace (native posix_spawn after setns). */
import { native } from './binding.js';
import { SvcproxyError } from '../errors.js';
import type { ExecResult } from './types.js';
import type { Netns } from './netns.js';

export interface RunOptions {
  netns?: Netns;
  input?: string | Buffer;
  /** the svcproxy operation name carried by a failure, e.g. "iptables-restore" */
  op?: string;
  /** do not throw on a non-zero exit status */
  allowFailure?: boolean;
}

export interface RunResult extends ExecResult {
  out: string;
  err: string;
}

export async function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await native().exec({ argv, input: opts.input, netns: opts.netns ?? '' });
  const out = res.stdout.toString('utf8');
  const err = res.stderr.toString('utf8');
  if (!opts.allowFailure && (res.status !== 0 || res.signal !== 0)) {
    const how = res.signal ? `killed by signal ${res.signal}` : `exit status ${res.status}`;
    const detail = err.trim().split('\n').slice(0, 3).join(' / ');
    throw new SvcproxyError(`${argv[0]} failed (${how})${detail ? `: ${detail}` : ''}`, {
      code: opts.op === 'iptables-restore' ? 'ERESTORE' : 'EEXEC',
      op: opts.op ?? argv[0],
    });
  }
  return { ...res, out, err };
}
