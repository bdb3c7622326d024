// Why a page or an image could not be harvested. These are outcomes of the remote side (or of our
// safety rules), recorded on the task or the image; they never crash a worker and are not retried.

export type HarvestFailure =
  | 'refused' // the address, scheme or robots.txt forbids it
  | 'timeout'
  | 'http' // a non-2xx answer
  | 'content' // not the kind of content asked for
  | 'too_large'
  | 'redirect'
  | 'network'
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

/** Refused by the address policy: raised by the connector before any socket is opened. */
export class RefusedAddressError extends HarvestError {
  readonly code = 'WORKYARD_HARVEST_REFUSED_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    reason: string,
  ) {
    super('refused', `refused to connect to ${host}: ${reason} (set WORKYARD_HARVEST_ALLOW_PRIVATE=true to allow it)`);
    this.name = 'RefusedAddressError';
  }
}
