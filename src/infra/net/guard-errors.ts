// What the connect-time guard throws. Each caller words its own failures (harvest's say
// WORKYARD_HARVEST_ALLOW_PRIVATE and carry a harvest failure kind; webhooks' say their setting), so
// the guard takes the errors to throw; these are the ones it throws when given none.

export interface GuardErrors {
  /** an address the policy forbids: raised before any socket is opened */
  refused(host: string, address: string, reason: string): Error;
  /** the name has no address, or the lookup did not answer in time */
  unreachable(failure: 'network' | 'timeout', reason: string): Error;
}

export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
  readonly code = 'WORKYARD_REFUSED_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`refused to connect to ${host}: ${reason}`);
  }
}

export class UnreachableHostError extends Error {
  override readonly name = 'UnreachableHostError';
  constructor(
    readonly failure: 'network' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

export const defaultGuardErrors: GuardErrors = {
  refused: (host, address, reason) => new RefusedAddressError(host, address, reason),
  unreachable: (failure, reason) => new UnreachableHostError(failure, reason),
};
