// Why a page or an image could not be harvested. These are outcomes of the remote side (or of our
// safety rules), recorded on the task or the image; they never crash a worker and are not retried.
import type { GuardErrors } from '../../infra/net/guard-errors.js';

export type HarvestFailure =
  | 'refused' // the address, scheme or robots.txt forbids it
  | 'timeout'
  | 'http' // a non-2xx answer
  | 'content' // not the kind of content asked for
  | 'too_large'
  | 'redirect'
  | 'network'
  | 'budget' // the task's budget of time or bytes ran out before this request started
  | 'aborted'; // the worker is shutting down

export class HarvestError extends Error {
  constructor(
    readonly failure: HarvestFailure,
    message: string,
  ) {
    super(message);
    this.name = 'HarvestError';
  }
}

/**
 * The host did not answer at all: its name has no address, or nothing accepts a connection. Raised
 * where that is found (the guard's lookup, the socket) and said of the URL being fetched; when it
 * was robots.txt that could not be reached, it is said again of the page, since that is what a
 * person asked for and what cannot be reached.
 */
export class UnreachableError extends HarvestError {
  constructor(
    failure: 'network' | 'timeout',
    readonly reason: string,
    readonly url?: URL,
  ) {
    super(failure, url ? `${url.href} is unreachable: ${reason}` : reason);
    this.name = 'UnreachableError';
  }

  /** The same failure, said of `url` (another URL on the same host). */
  at(url: URL): UnreachableError {
    return new UnreachableError(this.failure as 'network' | 'timeout', this.reason, url);
  }
}

/** Refused by the address policy: raised by the connector before any socket is opened. */
export class RefusedAddressError extends HarvestError {
  readonly code = 'WORKYARD_HARVEST_REFUSED_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    reason: string,
  ) {
    super('refused', `refused to connect to ${host}: ${reason} (set WORKYARD_HARVEST_ALLOW_PRIVATE=true, or list the host in WORKYARD_HARVEST_ALLOW_HOSTS, to allow it)`);
    this.name = 'RefusedAddressError';
  }
}

/** What the shared connect-time guard (infra/net) throws for harvest: its failures, in its words. */
export const harvestGuardErrors: GuardErrors = {
  refused: (host, address, reason) => new RefusedAddressError(host, address, reason),
  unreachable: (failure, reason) => new UnreachableError(failure, reason),
};
