/** The agent's structured log: pino JSON lines on stderr (stdout stays free), one level flag. */
import { pino, type Logger } from 'pino';

export type AgentLogger = Logger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Synchronous writes: a line logged right before exit (SIGTERM, a fatal error) is never lost. */
export function createLogger(level: LogLevel, destination: number | NodeJS.WritableStream = 2): AgentLogger {
  const dest = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { component: 'svcproxy-agent' }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
