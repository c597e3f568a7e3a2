/** A listening TCP socket created inside a network namespace (native/listen.cc). */
import { isIP } from 'node:net';
import { invalidField } from '../errors.js';
import { native } from './binding.js';

export interface ListenTcpOptions {
  /** network namespace name (under /run/netns) or absolute path; empty = current */
  netns?: string;
  /** IPv4 or IPv6 literal; empty = every IPv4 address */
  address?: string;
  port: number;
}

interface ListenAddon {
  listenTcp(opts: ListenTcpOptions): Promise<number>;
}

/**
 * socket/bind/listen on a worker thread that entered the namespace; the
 * socket stays there. Returns the fd (close-on-exec) for net.Server.listen({ fd }).
 * Rejects with a SvcproxyError (code EADDRINUSE, EACCES, ENOENT for a missing netns,
 * EINVAL with field for a bad address or port).
 */
export async function listenTcp(opts: ListenTcpOptions): Promise<number> {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw invalidField('port', 'must be an integer 1-65535', 'listenTcp');
  if (opts.address && isIP(opts.address) === 0) throw invalidField('address', `must be an IPv4 or IPv6 address, got ${JSON.stringify(opts.address)}`, 'listenTcp');
  return await (native() as unknown as ListenAddon).listenTcp({ netns: opts.netns ?? '', address: opts.address ?? '', port: opts.port });
}
