/**
 * A backend that says who it is: on every TCP connection and UDP datagram it
 * answers "NAME LOCALADDR:LOCALPORT PEERADDR:PEERPORT\n", then (TCP) echoes
 * whatever it receives, so long-lived connections can be checked too.
 *
 * usage: node echo-server.js NAME TCPPORTS UDPPORTS [ipv6]   (ports comma-separated; ipv6: also on ::)
 * prints "ready" on stdout once every socket listens.
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const [name = 'backend', tcpArg = '', udpArg = '', v6Arg = ''] = process.argv.slice(2);
const ports = (s: string) => s.split(',').filter(Boolean).map(Number);
const waits: Promise<void>[] = [];
/** "addr:port", "[v6]:port" */
const hostPort = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
// IPv6 listens on :: in sockets of their own (ipv6Only): v4 peers keep reporting plain v4 addresses
const hosts = v6Arg === 'ipv6' ? ['0.0.0.0', '::'] : ['0.0.0.0'];

for (const port of ports(tcpArg)) {
  for (const host of hosts) {
    const server = createServer((sock) => {
      sock.on('error', () => {});
      sock.write(`${name} ${hostPort(sock.localAddress!, sock.localPort!)} ${hostPort(sock.remoteAddress!, sock.remotePort!)}\n`);
      sock.pipe(sock);
    });
    waits.push(new Promise((res) => server.listen({ port, host, backlog: 4096, ipv6Only: host === '::' }, () => res())));
  }
}

for (const port of ports(udpArg)) {
  for (const host of hosts) {
    const sock = createSocket({ type: host === '::' ? 'udp6' : 'udp4', ipv6Only: host === '::' });
    sock.on('message', (_msg, rinfo) => {
      const local = sock.address();
      // Report the address the datagram was sent to: the socket is bound to 0.0.0.0 / ::.
      sock.send(`${name} ${hostPort(local.address, local.port)} ${hostPort(rinfo.address, rinfo.port)}\n`, rinfo.port, rinfo.address);
    });
    waits.push(new Promise((res) => sock.bind(port, host, () => res())));
  }
}

await Promise.all(waits);
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));
