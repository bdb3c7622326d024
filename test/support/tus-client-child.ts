// A tus-js-client upload in a process of its own, so that a test can kill it (SIGKILL) the way a
// client dies: `node --import tsx tus-client-child.ts <base URL> <file> <chunk bytes> <metadata JSON> <freeze at>`.
// It reports over IPC: {url} once the upload exists, {frozen: offset} once it has sent `freeze at`
// bytes — and then stops itself (SIGSTOP), so that the killing test finds it there, not further on.
import fs from 'node:fs';
import { startTusUpload } from './tus.js';

const [endpointBase, file, chunk, metadata, freezeAt] = process.argv.slice(2);
const send = (message: object) => process.send?.(message);
let frozen = false;
const run = startTusUpload(endpointBase, fs.createReadStream(file), {
  chunkSize: Number(chunk),
  metadata: JSON.parse(metadata) as Record<string, string>,
  onUploadUrlAvailable: () => send({ url: run.upload.url }),
  onAt: (offset) => {
    if (frozen || offset < Number(freezeAt)) return;
    frozen = true;
    process.send?.({ frozen: offset }, () => process.kill(process.pid, 'SIGSTOP'));
  },
});
run.done.then(
  () => send({ done: true }),
  (error: Error) => send({ error: error.message }),
);
