// How S3 failures reach clients: a store that cannot be reached, is failing or refuses our
// credentials is a 503 naming s3 (nothing the client can fix); a missing key is a null, an
// unsatisfiable range a 416; anything else is a bug and stays a 500.
import { AppError, DependencyUnavailableError } from '../../errors.js';
import { callDependency, isConnectionError } from '../dependency-errors.js';

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

const UNAVAILABLE_NAMES = new Set([
  'TimeoutError', 'AbortError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable', 'InternalError',
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'CredentialsProviderError', 'ExpiredToken', 'NoSuchBucket',
]);

const statusOf = (error: unknown) => (error as SdkError)?.$metadata?.httpStatusCode;
const nameOf = (error: unknown) => (error as SdkError)?.name;

export function toS3Error(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const status = statusOf(error);
  if (isConnectionError(error) || UNAVAILABLE_NAMES.has(nameOf(error) ?? '') || (status !== undefined && (status >= 500 || status === 403))) {
    return new DependencyUnavailableError('s3', error);
  }
  return error;
}

export function isMissingObject(error: unknown): boolean {
  const name = nameOf(error);
  return name === 'NotFound' || name === 'NoSuchKey' || (statusOf(error) === 404 && name !== 'NoSuchBucket');
}

/** S3 refused a conditional request because its condition failed. */
export function isPreconditionFailed(error: unknown): boolean {
  return nameOf(error) === 'PreconditionFailed' || statusOf(error) === 412;
}

/** The server does not implement what the request asked (S3's 501 NotImplemented). */
export function isNotImplemented(error: unknown): boolean {
  return nameOf(error) === 'NotImplemented' || statusOf(error) === 501;
}

export function isUnsatisfiableRange(error: unknown): boolean {
  return nameOf(error) === 'InvalidRange' || statusOf(error) === 416;
}

/**
 * One S3 call without a body to send, under the dependency deadline. On timeout the request is
 * aborted too, so it does not linger; on success it is left alone (a GET's body is still flowing).
 */
export async function s3Call<T>(timeoutMs: number, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  try {
    return await callDependency('s3', timeoutMs, () => call(controller.signal));
  } catch (error) {
    controller.abort();
    throw toS3Error(error);
  }
}
