// When a failed delivery is tried again: exponential backoff, capped, with jitter, for about a day.
// The first retry comes within 10 s, so a receiver restarting or deploying loses nothing visible;
// jitter spreads the retries of many deliveries that failed together (an endpoint back up
// after an outage is not hit by all of them at the same second).

/**
 * Delay before retry n (index n-1), before jitter: 5 s, then ×4 up to 20 min, then doubling to a
 * cap of 8 h: 5 s, 20 s, 80 s, 5 min 20 s, 20 min, 40 min, 80 min, 160 min, 5 h 20 min, 8 h, 8 h.
 * Twelve attempts in all over about 26 h (±20 % jitter on each delay).
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  5_000, 20_000, 80_000, 320_000, 1_200_000, 2_400_000, 4_800_000, 9_600_000, 19_200_000, 28_800_000, 28_800_000,
];

/** ±20 %: a retry never comes earlier than 0.8× nor later than 1.2× its delay. */
export function withJitter(delayMs: number, random = Math.random): number {
  return Math.round(delayMs * (0.8 + 0.4 * random()));
}

/** The delay before the attempt after `attempt` (1-based), or null when none is left: the delivery is dead. */
export function retryDelay(delays: readonly number[], attempt: number, random = Math.random): number | null {
  const delay = delays[attempt - 1];
  return delay === undefined ? null : withJitter(delay, random);
}
