// A traffic run on a thread of its own (the entry point of the worker thread started by
// runTrafficInThread). Its requests are made on this thread, so the server's event loop only
// answers them: in the embedded shape, server and traffic share one process, not one loop.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../infra/queue/contract.js';
import { type TrafficOptions, runTraffic } from './traffic.js';

if (parentPort) {
  const port = parentPort;
  const abort = new AbortController();
  port.on('message', (message) => {
    if (message === 'abort') abort.abort();
  });
  const options = workerData as Pick<TrafficOptions, 'n' | 'baseUrl' | 'concurrency' | 'progressEveryMs'>;
  runTraffic({ ...options, signal: abort.signal, onProgress: (progress) => port.postMessage({ type: 'progress', progress }) }).then(
    (summary) => port.postMessage({ type: 'done', summary }),
    (error) => port.postMessage({ type: 'error', message: errorMessage(error) }),
  );
}
