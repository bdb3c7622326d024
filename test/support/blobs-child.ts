// The child of blobs-process.ts: Workyard with the blobs module, configured by WORKYARD_* as in
// production plus test-sized leases (BLOBS_TEST_LEASE_MS: the queue's and the fast tier's). Talks
// to its parent over IPC: {address} once it serves; {rss, peak} when asked 'memory' (peak: the
// highest RSS sampled every 5 ms since 'reset-peak').
import { buildWorkyard } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createBlobsModule } from '../../src/modules/blobs/index.js';

const mode = process.argv[2] as 'start' | 'serve' | 'worker';
const config = loadConfig();
const leaseMs = Number(process.env.BLOBS_TEST_LEASE_MS ?? 60_000);
const workyard = await buildWorkyard(config, {
  api: mode !== 'worker',
  worker: mode !== 'serve',
  logger: createLogger(config.logLevel),
  modules: [createBlobsModule({ leaseMs, sweepAfterMs: leaseMs, sweepEveryMs: Math.max(100, leaseMs / 4) })],
  infra: { queueLeaseMs: leaseMs, queuePollMs: 50 },
});
const address = await workyard.start();
let peak = process.memoryUsage().rss;
setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5).unref();
process.on('message', (message) => {
  if (message === 'memory') process.send!({ rss: process.memoryUsage().rss, peak });
  if (message === 'reset-peak') {
    global.gc?.();
    peak = process.memoryUsage().rss;
    process.send!({});
  }
});
process.on('SIGTERM', () => {
  workyard.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.send!({ address });
