// Politeness per host, across every task this process runs: at most N requests at once (a page
// with 500 images must not open 500 connections to one server), and their starts at least an
// interval apart (the configured delay, or robots.txt's Crawl-delay when it asks for more).

export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: (() => void)[] }>();
  /** when the next request to a host may start (epoch ms); entries in the past are dropped */
  private readonly nextStart = new Map<string, number>();

  /** `perHost` 0: no limit */
  constructor(readonly perHost: number) {}

  async run<T>(host: string, work: () => Promise<T>, minIntervalMs = 0): Promise<T> {
    if (this.perHost <= 0) {
      await this.pace(host, minIntervalMs);
      return work();
    }
    let slot = this.hosts.get(host);
    if (!slot) this.hosts.set(host, (slot = { active: 0, waiting: [] }));
    if (slot.active >= this.perHost) await new Promise<void>((resolve) => slot!.waiting.push(resolve));
    else slot.active++;
    try {
      await this.pace(host, minIntervalMs);
      return await work();
    } finally {
      const next = slot.waiting.shift();
      // The slot passes straight to the next waiter; `active` drops only when nobody waits.
      if (next) next();
      else if (--slot.active === 0) this.hosts.delete(host);
    }
  }

  /** Waits for the host's next start time and books the one after it. */
  private async pace(host: string, intervalMs: number): Promise<void> {
    if (intervalMs <= 0) return;
    const now = Date.now();
    const at = Math.max(now, this.nextStart.get(host) ?? 0);
    this.nextStart.set(host, at + intervalMs);
    if (this.nextStart.size > 10_000) for (const [name, time] of this.nextStart) if (time < now) this.nextStart.delete(name);
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}
