// Structured logs (pino) for every process; one JSON line per event on stdout.
import pino from 'pino';

export function createLogger(level: string, name = 'workyard') {
  return pino({ level, name, base: { pid: process.pid } });
}
