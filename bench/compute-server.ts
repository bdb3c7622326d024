// The server side of bench/compute.ts, in a process of its own so that the load generator does not
// share its event loop: Workyard (configured by WORKYARD_* variables) or the bare Fastify ceiling
// (BENCH_SERVER=bare). Over IPC it reports its address and, on request, its event-loop delay.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildWorkyard } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startBareFastify } from './lib/ceiling.js';

export type ServerMessage = { url: string } | { eventLoopDelayMs: { p50: number; p99: number; max: number } };
export type ControlMessage = 'measure-loop' | 'report-loop' | 'exit';

if (!process.send) throw new Error('bench/compute-server.ts runs as a child of bench/compute.ts');
const send = (message: ServerMessage) => process.send!(message);

let close: () => Promise<void>;
if (process.env.BENCH_SERVER === 'bare') {
  const bare = await startBareFastify();
  close = bare.close;
  send({ url: bare.url });
} else {
  const config = loadConfig();
  const workyard = await buildWorkyard(config, { logger: createLogger(config.logLevel) });
  const url = await workyard.start();
  close = () => workyard.close();
  send({ url: url! });
}

const loop = monitorEventLoopDelay({ resolution: 10 });
const ms = (ns: number) => ns / 1e6;
process.on('message', async (message: ControlMessage) => {
  if (message === 'measure-loop') {
    loop.disable();
    loop.reset();
    loop.enable();
  } else if (message === 'report-loop') {
    send({ eventLoopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) } });
  } else if (message === 'exit') {
    await close();
    process.exit(0);
  }
});
