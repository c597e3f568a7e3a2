/**
 * A backend that says who it is: on every TCP connection and UDP datagram it
 * answers "NAME LOCALADDR:LOCALPORT PEERADDR:PEERPORT\n", then (TCP) echoes
 * whatever it receives, so long-lived connections can be checked too.
 *
 * usage: node echo-server.js NAME TCPPORTS UDPPORTS   (ports comma-separated)
 * prints "ready" on stdout once every socket listens.
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const [name = 'backend', tcpArg = '', udpArg = ''] = process.argv.slice(2);
const ports = (s: string) => s.split(',').filter(Boolean).map(Number);
const waits: Promise<void>[] = [];

for (const port of ports(tcpArg)) {
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.write(`${name} ${sock.localAddress}:${sock.localPort} ${sock.remoteAddress}:${sock.remotePort}\n`);
    sock.pipe(sock);
  });
  waits.push(new Promise((res) => server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => res())));
}

for (const port of ports(udpArg)) {
  const sock = createSocket('udp4');
  sock.on('message', (_msg, rinfo) => {
    const local = sock.address();
    // Report the address the datagram was sent to: the socket is bound to 0.0.0.0.
    sock.send(`${name} ${local.address}:${local.port} ${rinfo.address}:${rinfo.port}\n`, rinfo.port, rinfo.address);
  });
  waits.push(new Promise((res) => sock.bind(port, '0.0.0.0', () => res())));
}

await Promise.all(waits);
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));
