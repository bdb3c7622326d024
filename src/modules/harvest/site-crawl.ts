// A task's crawl: from its page, breadth first, following same-site links (site-links.ts) up to
// max_pages pages and max_depth links away from the start. Each page is fetched like a single
// page (robots.txt, the per-host pacing, Retry-After and the SSRF guard all apply) and handed to
// `visit` at once, so a crawl holds one page's HTML at a time. The first page failing fails the
// task, as it always has; a later page failing is listed with its error and the crawl goes on.
import { HarvestError } from './errors.js';
import { pageParsers } from './page-parsers.js';

export interface CrawlLimits {
  /** pages fetched at most, the first included (1: the page alone) */
  maxPages: number;
  /** links followed at most from the first page (0: the page alone) */
  maxDepth: number;
}

// Links waiting to be fetched, at most: more than any max_pages needs to fill up past broken links.
const MAX_FRONTIER = 10_000;

export const SINGLE_PAGE: CrawlLimits = { maxPages: 1, maxDepth: 0 };

export interface FetchedPage {
  html: string;
  /** where the page was found, after redirects */
  url: URL;
}

/** A page of the crawl, in the order it was fetched (position 0: the task's page). */
export interface CrawledPage {
  position: number;
  url: string;
  depth: number;
  /** why the page was not harvested; null when it was */
  error: string | null;
}

export interface CrawlOptions {
  signal: AbortSignal;
  /** the task's time budget: from when its page has been read, no page starts once it is spent */
  budgetMs?: number;
  log?: (message: string) => Promise<void>;
}

export async function crawlSite(
  start: string,
  limits: CrawlLimits,
  fetchPage: (url: string) => Promise<FetchedPage>,
  visit: (page: FetchedPage, crawled: CrawledPage) => Promise<void>,
  options: CrawlOptions,
): Promise<CrawledPage[]> {
  const { findSiteLinks, siteOf } = await pageParsers();
  const pages: CrawledPage[] = [];
  const seen = new Set<string>([start]);
  const frontier: { url: string; depth: number }[] = [{ url: start, depth: 0 }];
  let site: string | null = null;
  let fetched = 0;
  let deadline: number | null = null;
  while (frontier.length > 0 && fetched < limits.maxPages) {
    options.signal.throwIfAborted();
    if (deadline !== null && Date.now() >= deadline) {
      await options.log?.(`crawl stopped after ${fetched} pages: the task's time budget ran out`);
      break;
    }
    const next = frontier.shift()!;
    fetched++;
    let page: FetchedPage;
    try {
      page = await fetchPage(next.url);
    } catch (error) {
      // The task's own page, a shutdown, or the database being down: the task's outcome, not a page's.
      if (site === null || !(error instanceof HarvestError) || error.failure === 'aborted') throw error;
      pages.push({ position: pages.length, url: next.url, depth: next.depth, error: error.message });
      await options.log?.(`page failed: ${next.url}: ${error.message}`);
      continue;
    }
    const landed = page.url.href;
    if (site === null && options.budgetMs !== undefined) deadline = Date.now() + options.budgetMs;
    site ??= siteOf(page.url);
    if (landed !== next.url && seen.has(landed)) continue; // a redirect to a page already harvested
    seen.add(landed);
    if (siteOf(page.url) !== site) {
      pages.push({ position: pages.length, url: next.url, depth: next.depth, error: `redirected off the site to ${landed}` });
      continue;
    }
    const crawled: CrawledPage = { position: pages.length, url: landed, depth: next.depth, error: null };
    pages.push(crawled);
    await visit(page, crawled);
    if (next.depth >= limits.maxDepth) continue;
    for (const link of findSiteLinks(page.html, page.url, site)) {
      if (frontier.length >= MAX_FRONTIER) break;
      if (seen.has(link)) continue;
      seen.add(link);
      frontier.push({ url: link, depth: next.depth + 1 });
    }
  }
  return pages;
}
