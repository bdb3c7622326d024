import { describe, expect, it } from 'vitest';
import { RobotsCache, RobotsRules, parseRobots } from './robots.js';

describe('robots.txt parser', () => {
  it('uses the group naming Workyard over the * group', () => {
    const rules = parseRobots(['User-agent: *', 'Disallow: /', '', 'User-agent: Workyard', 'Disallow: /private'].join('\n'));
    expect(rules.isAllowed('/')).toBe(true);
    expect(rules.isAllowed('/private/x')).toBe(false);
  });

  it('falls back to * and allows everything without any matching group', () => {
    expect(parseRobots('User-agent: *\nDisallow: /tmp/').isAllowed('/tmp/a')).toBe(false);
    expect(parseRobots('User-agent: otherbot\nDisallow: /').isAllowed('/anything')).toBe(true);
    expect(parseRobots('').isAllowed('/')).toBe(true);
  });

  it('lets the longest match win, allow winning a tie', () => {
    const rules = parseRobots('User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\nAllow: /x\nDisallow: /x');
    expect(rules.isAllowed('/a/z')).toBe(false);
    expect(rules.isAllowed('/a/b/z')).toBe(true);
    expect(rules.isAllowed('/a/b/c')).toBe(false);
    expect(rules.isAllowed('/x')).toBe(true);
  });

  it('understands * and $ and matches the query string', () => {
    const rules = parseRobots('User-agent: *\nDisallow: /*.gif$\nDisallow: /search?q=*secret\nDisallow: /p*/edit');
    expect(rules.isAllowed('/img/a.gif')).toBe(false);
    expect(rules.isAllowed('/img/a.gif?x=1')).toBe(true);
    expect(rules.isAllowed('/search?q=top-secret')).toBe(false);
    expect(rules.isAllowed('/search?q=public')).toBe(true);
    expect(rules.isAllowed('/pages/1/edit')).toBe(false);
    expect(rules.isAllowed('/a.b')).toBe(true); // "." is literal, not a regex wildcard
  });

  it('shares one group between consecutive user-agent lines, ignores comments, case and other keys', () => {
    const text = ['# comment', 'USER-AGENT: googlebot', 'user-agent: workyard/1.0 # ours', 'crawl-delay: 5', 'DISALLOW: /both', 'Sitemap: /s.xml', 'user-agent: *', 'disallow: /'].join('\r\n');
    const rules = parseRobots(text);
    expect(rules.isAllowed('/both')).toBe(false);
    expect(rules.isAllowed('/other')).toBe(true);
  });

  it('treats an empty Disallow as allowing everything, and always allows /robots.txt', () => {
    expect(parseRobots('User-agent: *\nDisallow:').isAllowed('/x')).toBe(true);
    expect(parseRobots('User-agent: *\nDisallow: /').isAllowed('/robots.txt')).toBe(true);
  });

  it('matches non-ASCII patterns against percent-encoded paths', () => {
    const rules = parseRobots('User-agent: *\nDisallow: /café');
    expect(rules.isAllowed(new URL('http://x/café/menu').pathname)).toBe(false);
  });
});

describe('robots.txt cache', () => {
  it('loads each origin once while fresh, concurrent callers sharing the load', async () => {
    const loads: string[] = [];
    const cache = new RobotsCache(async (origin) => {
      loads.push(origin);
      return RobotsRules.allowAll;
    });
    await Promise.all([cache.rulesFor(new URL('http://a.test/1')), cache.rulesFor(new URL('http://a.test/2')), cache.rulesFor(new URL('http://b.test/'))]);
    await cache.rulesFor(new URL('http://a.test/3'));
    expect(loads).toEqual(['http://a.test', 'http://b.test']);
  });

  it('loads again after the TTL, and does not keep a failed load', async () => {
    let calls = 0;
    const cache = new RobotsCache(async () => {
      calls++;
      if (calls === 1) throw new Error('refused');
      return RobotsRules.allowAll;
    }, 50);
    await expect(cache.rulesFor(new URL('http://a.test/'))).rejects.toThrow('refused');
    await cache.rulesFor(new URL('http://a.test/'));
    await cache.rulesFor(new URL('http://a.test/'));
    expect(calls).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await cache.rulesFor(new URL('http://a.test/'));
    expect(calls).toBe(3);
  });

  it('keeps an unreachable robots.txt briefly and says why', async () => {
    const rules = RobotsRules.unavailableBecause('HTTP 503');
    expect(rules.isAllowed('/')).toBe(false);
    expect(rules.unavailable).toBe('HTTP 503');
  });
});
