// Whether an S3-compatible server honours `If-None-Match: *` on a put (create only, refused with
// 412 when an object is there). S3 has since 2024, MinIO and moto do; s3rver ignores the header and
// stores. A put cannot tell whether its header was honoured, so the store asks the server once.
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { isNotImplemented, isPreconditionFailed, toS3Error } from './s3-errors.js';

/**
 * Puts one empty probe object twice with `If-None-Match: *`: a 412 on the second means the server
 * honours the header; a second put that succeeds (or a 501, "not implemented") means it does not.
 * The probe's key is a fresh UUID under `.workyard/`, deleted at once: it can meet no blob, and a
 * listing shows it only in the milliseconds it exists, once per process. `client` must not retry
 * (a retried first put would answer 412 for its own object). Rejects, as a 503 for s3, when the
 * server cannot be reached: the caller asks again next time.
 */
export async function probeConditionalPuts(client: S3Client, bucket: string, timeoutMs: number): Promise<boolean> {
  const key = `.workyard/conditional-put-probe-${randomUUID()}`;
  const put = () => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), IfNoneMatch: '*' }), { abortSignal: AbortSignal.timeout(timeoutMs) });
  try {
    await put();
    await put();
    return false;
  } catch (error) {
    if (isPreconditionFailed(error)) return true;
    if (isNotImplemented(error)) return false;
    throw toS3Error(error);
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(timeoutMs) }).catch(() => {});
  }
}
