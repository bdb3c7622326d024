// robots.txt (RFC 9309): a small parser, and a per-origin cache so a page with 500 images on one
// host costs one robots.txt fetch. Groups naming our product token win over `*`; within them the
// longest matching pattern decides, and `allow` wins a tie.
import type { UnreachableError } from './errors.js';

export const ROBOTS_PRODUCT_TOKEN = 'workyard';

interface Rule {
  allow: boolean;
  pattern: string;
  regex: RegExp;
}

export class RobotsRules {
  static readonly allowAll = new RobotsRules([]);

  /** robots.txt could not be read: everything is disallowed, and the reason says why. */
  static unavailableBecause(reason: string): RobotsRules {
    return new RobotsRules([compileRule(false, '/')!], reason);
  }

  /** The host itself did not answer: everything is disallowed, and a fetch there fails as unreachable, not as refused by robots.txt. */
  static hostUnreachable(error: UnreachableError): RobotsRules {
    return new RobotsRules([compileRule(false, '/')!], error.reason, error);
  }

  constructor(
    private readonly rules: Rule[],
    readonly unavailable?: string,
    readonly unreachable?: UnreachableError,
    /** Crawl-delay (not in RFC 9309, but widely used), in ms, capped at MAX_CRAWL_DELAY_MS */
    readonly crawlDelayMs = 0,
  ) {}

  /** `pathAndQuery` as in a URL: "/a/b?c=d" */
  isAllowed(pathAndQuery: string): boolean {
    if (pathAndQuery === '/robots.txt') return true;
    let best: Rule | null = null;
    for (const rule of this.rules) {
      if (!rule.regex.test(pathAndQuery)) continue;
      if (!best || rule.pattern.length > best.pattern.length || (rule.pattern.length === best.pattern.length && rule.allow)) best = rule;
    }
    return best ? best.allow : true;
  }
}

/** A Crawl-delay above this is taken as this: a site asking for a minute between requests would make one page's images take hours. */
export const MAX_CRAWL_DELAY_MS = 30_000;

export function parseRobots(text: string, productToken = ROBOTS_PRODUCT_TOKEN): RobotsRules {
  const groups: { agents: string[]; rules: Rule[]; crawlDelayMs?: number }[] = [];
  let current: { agents: string[]; rules: Rule[]; crawlDelayMs?: number } | null = null;
  let lastWasAgent = false;
  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    const line = rawLine.replace(/#.*$/, '').trim();
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'user-agent') {
      // Consecutive user-agent lines share one group; one after rules starts a new group.
      if (!current || !lastWasAgent) groups.push((current = { agents: [], rules: [] }));
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
    } else if ((key === 'allow' || key === 'disallow') && current) {
      const rule = compileRule(key === 'allow', value);
      if (rule) current.rules.push(rule);
      lastWasAgent = false;
    } else if (key === 'crawl-delay' && current) {
      const seconds = Number(value);
      if (Number.isFinite(seconds) && seconds > 0) current.crawlDelayMs = Math.min(Math.round(seconds * 1000), MAX_CRAWL_DELAY_MS);
      lastWasAgent = false;
    } else {
      lastWasAgent = false;
    }
  }
  const token = productToken.toLowerCase();
  const ours = groups.filter((g) => g.agents.some((agent) => agent.split('/')[0].trim() === token));
  const chosen = ours.length ? ours : groups.filter((g) => g.agents.includes('*'));
  return new RobotsRules(
    chosen.flatMap((g) => g.rules),
    undefined,
    undefined,
    Math.max(0, ...chosen.map((g) => g.crawlDelayMs ?? 0)),
  );
}

function compileRule(allow: boolean, pattern: string): Rule | null {
  // An empty Disallow matches nothing (it allows everything), so it is no rule at all.
  if (pattern === '') return null;
  const normalized = normalizePattern(pattern);
  const anchored = normalized.endsWith('$');
  const body = anchored ? normalized.slice(0, -1) : normalized;
  const source = body
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return { allow, pattern: normalized, regex: new RegExp(`^${source}${anchored ? '$' : ''}`) };
}

/** Percent-encodes what a URL path would have encoded, so "/ä" matches the URL's "/%C3%A4". */
function normalizePattern(pattern: string): string {
  return pattern.replace(/[^\x21-\x7e]/gu, (char) => encodeURIComponent(char));
}

const UNAVAILABLE_TTL_MS = 60_000;

interface CacheEntry {
  rules: Promise<RobotsRules>;
  expiresAt: number;
}

export class RobotsCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    /** fetches and parses an origin's robots.txt; rejects when the page must fail instead */
    private readonly load: (origin: string) => Promise<RobotsRules>,
    private readonly ttlMs = 10 * 60_000,
    private readonly maxOrigins = 1_000,
  ) {}

  /** The rules of the URL's origin, fetched once per TTL (concurrent callers share one fetch). */
  rulesFor(url: URL): Promise<RobotsRules> {
    const now = Date.now();
    const cached = this.entries.get(url.origin);
    if (cached && cached.expiresAt > now) return cached.rules;
    if (this.entries.size >= this.maxOrigins) this.entries.delete(this.entries.keys().next().value!);
    const rules = this.load(url.origin);
    const entry = { rules, expiresAt: now + this.ttlMs };
    this.entries.set(url.origin, entry);
    rules.then(
      // An unreachable robots.txt keeps us out only briefly: the server may just be restarting.
      (loaded) => loaded.unavailable && (entry.expiresAt = Math.min(entry.expiresAt, Date.now() + UNAVAILABLE_TTL_MS)),
      // A refusal (a forbidden address) is not cached: it says nothing about the origin's rules.
      () => this.entries.get(url.origin) === entry && this.entries.delete(url.origin),
    );
    return rules;
  }
}
