// A server that answers 429 (too many requests) or 503 (unavailable) is asked again after the
// time its Retry-After says (seconds, or an HTTP date; 1 s when it says nothing), capped so a task
// does not wait for hours, and a few times at most: one busy moment does not fail an image or a
// page, and a server that keeps refusing is left alone.
import { HarvestError } from './errors.js';
import type { FetchedResource } from './fetcher.js';

export interface RetryAfterPolicy {
  /** requests in all, the first included (default 3) */
  attempts: number;
  /** the longest wait honoured (default 10 s); a longer Retry-After is not waited for */
  capMs: number;
}

export const DEFAULT_RETRY_AFTER: RetryAfterPolicy = { attempts: 3, capMs: 10_000 };

/** Milliseconds a Retry-After asks for; null when it cannot be read. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (header === undefined) return 1_000;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

export async function fetchHonouringRetryAfter(fetchOnce: () => Promise<FetchedResource>, policy: RetryAfterPolicy = DEFAULT_RETRY_AFTER, signal?: AbortSignal): Promise<FetchedResource> {
  for (let attempt = 1; ; attempt++) {
    const fetched = await fetchOnce();
    if ((fetched.status !== 429 && fetched.status !== 503) || attempt >= policy.attempts) return fetched;
    const waitMs = retryAfterMs(fetched.retryAfter);
    if (waitMs === null || waitMs > policy.capMs) return fetched;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, waitMs);
      signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new HarvestError('aborted', 'the worker stopped while a fetch waited to be retried'))), { once: true });
    });
  }
}
