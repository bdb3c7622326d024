// At most N downloads at once per host, across every task this process runs: a page with 500
// images must not open 500 connections to one server.

export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(readonly perHost: number) {}

  async run<T>(host: string, work: () => Promise<T>): Promise<T> {
    let slot = this.hosts.get(host);
    if (!slot) this.hosts.set(host, (slot = { active: 0, waiting: [] }));
    if (slot.active >= this.perHost) await new Promise<void>((resolve) => slot!.waiting.push(resolve));
    else slot.active++;
    try {
      return await work();
    } finally {
      const next = slot.waiting.shift();
      // The slot passes straight to the next waiter; `active` drops only when nobody waits.
      if (next) next();
      else if (--slot.active === 0) this.hosts.delete(host);
    }
  }
}
