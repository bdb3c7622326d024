// bench:blobs, #23's S3 row: a 1 MB GET through Workyard's native route from s3rver, against the
// same object read straight from s3rver with the AWS SDK (what Workyard's store does underneath),
// with the same number at a time, interleaved, medians. The load generator (autocannon) runs in a
// worker thread, so that Workyard's thread does only Workyard's work, as the SDK's does only the
// SDK's; s3rver runs in its child process for both.
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, type S3rverHandle } from '../test/support/s3rver.js';
import { load } from './lib/load.js';
import type { BenchRow } from './lib/report.js';
import { median } from './lib/median.js';

const MB = 1024 * 1024;
const AT_ONCE = 8;

/** MB/s of whole GETs of `key`, AT_ONCE at a time for `seconds`, bodies read to their end. */
async function sdkGets(s3: S3rverHandle, bucket: string, key: string, seconds: number): Promise<number> {
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  const started = performance.now();
  const until = started + seconds * 1000;
  let bytes = 0;
  try {
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        while (performance.now() < until) {
          const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          for await (const chunk of response.Body as Readable) bytes += (chunk as Buffer).length;
        }
      }),
    );
  } finally {
    client.destroy();
  }
  return bytes / MB / ((performance.now() - started) / 1000);
}

/** MB/s of 1 MB GETs of `key` through Workyard's route. */
async function workyardGets(baseUrl: string, key: string, seconds: number): Promise<number> {
  const result = await load({ url: `${baseUrl}/blobs/${key}`, connections: AT_ONCE, duration: seconds, workers: 1 });
  if (result.errors || result.non2xx) throw new Error(`GET 1 MB from s3rver: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.total}`);
  return result.requestsPerSecond;
}

/** `key`: a 1 MB object Workyard stored in `bucket` on s3rver (its blob key is the object's key). */
export async function s3DirectGetRows(s3: S3rverHandle, bucket: string, baseUrl: string, key: string, options: { rounds: number; seconds: number }): Promise<{ rows: BenchRow[]; notes: string[] }> {
  // warm-up of both: connections, JIT
  await sdkGets(s3, bucket, key, 1);
  await workyardGets(baseUrl, key, 1);
  const direct: number[] = [];
  const through: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    direct.push(await sdkGets(s3, bucket, key, options.seconds));
    through.push(await workyardGets(baseUrl, key, options.seconds));
  }
  const value = median(through);
  const ceiling = median(direct);
  return {
    rows: [
      {
        figure: `GET 1 MB through Workyard from s3rver (${AT_ONCE} at a time, load generator in a thread of its own)`,
        value,
        unit: 'MB/s',
        ceiling: { name: 'the same GETs straight from s3rver with the AWS SDK', value: ceiling },
        ratio: value / ceiling,
        goal: '≥ 0.8 × ceiling (#23)',
        met: value / ceiling >= 0.8,
      },
    ],
    notes: [
      `GET 1 MB from s3rver through Workyard against the AWS SDK reading the same object straight from s3rver (GetObjectCommand, body read to its end), ${AT_ONCE} at a time, ${options.seconds} s each, interleaved, median of ${options.rounds}: through Workyard ${through.map((v) => v.toFixed(0)).join(', ')} MB/s; straight ${direct.map((v) => v.toFixed(0)).join(', ')} MB/s. Through Workyard the bytes cross the process twice (in from s3rver, out to the client) and the client reading them shares the machine's two cores with Workyard and s3rver.`,
    ],
  };
}
