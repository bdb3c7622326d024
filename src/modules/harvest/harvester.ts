// Puts the pieces together for one process: the guarded agent, the fetcher, robots.txt, the
// per-host limit and the image collector. The jobs call `pageText` and `pageImages`.
import type { Agent, buildConnector } from 'undici';
import type { Config } from '../../config.js';
import type { BlobStore } from '../../infra/blobstore/contract.js';
import { type Database, withTables } from '../../infra/db/database.js';
import { assertValidRanges } from '../../infra/net/address-policy.js';
import { decodeHtml } from './charset.js';
import { assertHtmlAnswer } from './html-answer.js';
import { HarvestError, UnreachableError, harvestGuardErrors } from './errors.js';
import { type FetchTimeouts, Fetcher } from './fetcher.js';
import { type LookupAll, createGuardedAgent } from '../../infra/net/guarded-agent.js';
import { HostLimiter } from './host-limiter.js';
import { DEFAULT_RETRY_AFTER, fetchHonouringRetryAfter } from './retry-after.js';
import { type CollectOutcome, ImageCollector } from './image-collector.js';
import { ImageDownloader } from './image-downloader.js';
import type { ImageFilters } from './image-filters.js';
import type { TaskBudget } from './task-budget.js';
import { MAX_IMAGES_PER_TASK } from './image-limits.js';
import { pageParsers } from './page-parsers.js';
import { RobotsCache, RobotsRules, parseRobots } from './robots.js';
import type { HarvestTables, SavedText, TaskPageRow } from './store.js';
import { type CrawlLimits, type FetchedPage, SINGLE_PAGE, crawlSite } from './site-crawl.js';
import { PageRenderer, chromiumAvailable } from './page-renderer.js';

export const MAX_HTML_BYTES = 10 * 1024 * 1024;
const MAX_ROBOTS_BYTES = 512 * 1024;

/** What tests and deployments may tune; everything else comes from the configuration. */
export interface HarvestOptions {
  /** resolves host names (dns.lookup by default) */
  lookup?: LookupAll;
  /** CIDR ranges allowed even when private addresses are not (an intranet; a test fixture) */
  exemptRanges?: string[];
  /** opens sockets once the guard let an address pass (tests wrap it to count attempts) */
  baseConnector?: buildConnector.connector;
  timeouts?: Partial<FetchTimeouts> & { connectMs?: number };
  /** downloads at once per host, across this process's tasks (default 8) */
  perHostConcurrency?: number;
  /** downloads at once per task (default 16) */
  taskConcurrency?: number;
  /** tasks at once per job name in this process (default 4) */
  jobConcurrency?: number;
  /** how long an image claim holds before another task may take it over (default 120 s) */
  claimLeaseMs?: number;
  /** first pause when waiting for another task's download (default 50 ms) */
  waitPollMs?: number;
}

/** A page a task harvested, as the task's pages list shows it. */
export type HarvestedPage = Omit<TaskPageRow, 'task_id'>;

/** The texts of a crawl's pages as one: joined in crawl order, the first page's metadata. */
function joinTexts(texts: SavedText[]): SavedText {
  if (texts.length === 1) return texts[0];
  const mains = texts.map((text) => text.main).filter((main): main is string => main !== null);
  const markdowns = texts.map((text) => text.markdown).filter((markdown): markdown is string => markdown !== null);
  return {
    text: texts.map((text) => text.text).join('\n\n'),
    main: mains.length ? mains.join('\n\n') : null,
    markdown: markdowns.length ? markdowns.join('\n\n---\n\n') : null,
    metadata: texts[0].metadata,
  };
}

/** How a task's pages are loaded: fetched (http), or rendered in headless Chromium (browser). */
export type PageLoading = 'http' | 'browser';

/** Writes a line to the job's log. */
export type PageLog = (message: string) => Promise<void>;

export interface HarvesterDeps {
  database: Database;
  config: Config['harvest'];
  blobs: BlobStore;
  userAgent: string;
}

export class Harvester {
  private agent: Promise<Agent> | null = null;
  private readonly fetcher: Fetcher;
  private readonly robots: RobotsCache;
  private readonly limiter: HostLimiter;
  private readonly timeouts: FetchTimeouts & { connectMs: number };
  private readonly collector: ImageCollector;
  private renderer: PageRenderer | null = null;

  constructor(
    private readonly deps: HarvesterDeps,
    private readonly options: HarvestOptions = {},
  ) {
    assertValidRanges(options.exemptRanges ?? []);
    this.timeouts = { connectMs: 5_000, totalMs: 30_000, headersMs: 10_000, bodyIdleMs: 10_000, ...options.timeouts };
    this.fetcher = new Fetcher(() => this.dispatcher(), deps.userAgent);
    this.robots = new RobotsCache((origin) => this.loadRobots(origin));
    this.limiter = new HostLimiter(options.perHostConcurrency ?? deps.config.requestsPerHost);
    const downloader = new ImageDownloader({
      fetcher: this.fetcher,
      limiter: this.limiter,
      maxBytes: deps.config.maxImageBytes,
      timeouts: this.timeouts,
      beforeRequest: (url) => this.checkRobots(url),
      intervalFor: (url) => this.intervalFor(url),
    });
    this.collector = new ImageCollector({
      database: withTables<HarvestTables>(deps.database),
      blobs: deps.blobs,
      downloader,
      concurrency: options.taskConcurrency ?? 16,
      claimLeaseMs: options.claimLeaseMs ?? 120_000,
      blobPutTimeoutMs: 30_000,
      waitPollMs: options.waitPollMs ?? 50,
    });
  }

  /** Created on first use and again after close(), so a job still running during shutdown keeps working. */
  private dispatcher(): Promise<Agent> {
    this.agent ??= createGuardedAgent({
      policy: { allowPrivate: this.deps.config.allowPrivate, exemptRanges: this.options.exemptRanges },
      allowHosts: this.deps.config.allowHosts,
      connectTimeoutMs: this.timeouts.connectMs,
      lookup: this.options.lookup,
      baseConnector: this.options.baseConnector,
      errors: harvestGuardErrors,
    });
    return this.agent;
  }

  /**
   * The text of the task's page, or of every page its crawl reaches (joined in crawl order; the
   * metadata is the first page's). `log`: lines for the job's log (ctx.log), a few per page.
   */
  async pageText(url: string, signal: AbortSignal, log?: PageLog, crawl: CrawlLimits = SINGLE_PAGE, render: PageLoading = 'http'): Promise<{ saved: SavedText; pages: HarvestedPage[]; blocked: string[] }> {
    const texts: SavedText[] = [];
    const found = new Map<number, { title: string | null; text_length: number }>();
    const blocked: string[] = [];
    const pages = await crawlSite(url, crawl, (next) => this.loadPage(next, render, signal, log, blocked), async (page, crawled) => {
      const { extractVisibleText, readPage } = await pageParsers();
      const text = extractVisibleText(page.html);
      const reading = readPage(page.html, page.url);
      texts.push({ text, ...reading });
      found.set(crawled.position, { title: reading.metadata.title, text_length: text.length });
    }, { signal, log });
    return { saved: joinTexts(texts), pages: pages.map((page) => ({ ...page, title: found.get(page.position)?.title ?? null, text_length: found.get(page.position)?.text_length ?? null, images_found: null })), blocked };
  }

  /** Collects the images of the task's page, or of every page its crawl reaches, each image once (where it was first found). */
  async pageImages(taskId: string, url: string, signal: AbortSignal, log?: PageLog, rules: { filters?: ImageFilters; budget?: TaskBudget; maxAgeMs?: number; allCandidates?: boolean; crawl?: CrawlLimits; render?: PageLoading } = {}): Promise<CollectOutcome & { pages: HarvestedPage[]; blocked: string[] }> {
    let startedAt: number | undefined;
    const blocked: string[] = [];
    const pageOf = new Map<string, string>();
    const found = new Map<number, number>();
    const crawl = rules.crawl ?? SINGLE_PAGE;
    const pages = await crawlSite(url, crawl, (next) => this.loadPage(next, rules.render ?? 'http', signal, log, blocked, rules.budget?.ms), async (page, crawled) => {
      startedAt ??= Date.now();
      const { findImageUrls } = await pageParsers();
      const urls = findImageUrls(page.html, page.url, { allCandidates: rules.allCandidates });
      let added = 0;
      for (const image of urls) {
        if (pageOf.size >= MAX_IMAGES_PER_TASK) break;
        if (pageOf.has(image)) continue;
        pageOf.set(image, crawled.url);
        added++;
      }
      found.set(crawled.position, urls.length);
      await log?.(`${urls.length} image${urls.length === 1 ? '' : 's'} found${crawl.maxPages > 1 ? ` on ${crawled.url}${added < urls.length ? ` (${added} not found on an earlier page)` : ''}` : ''}`);
    }, { signal, log, budgetMs: rules.budget?.ms });
    // The budget's time counts from when the task's page was read, the rest of the crawl included.
    const outcome = await this.collector.collect(taskId, [...pageOf.keys()], signal, rules.filters, rules.budget, rules.maxAgeMs, { pageOf, startedAt });
    return { ...outcome, pages: pages.map((page) => ({ ...page, title: null, text_length: null, images_found: found.get(page.position) ?? null })), blocked };
  }

  /** The least time between two requests to the URL's host: the configured delay, or its robots.txt Crawl-delay when longer. */
  private async intervalFor(url: URL): Promise<number> {
    if (!this.deps.config.respectRobots) return this.deps.config.hostDelayMs;
    // a robots.txt that refuses or cannot be read fails the request in checkRobots, not here
    const rules = await this.robots.rulesFor(url).catch(() => null);
    return Math.max(this.deps.config.hostDelayMs, rules?.crawlDelayMs ?? 0);
  }

  /** A page fetched, or rendered in Chromium (what the page's requests ran into the guard is added to `blocked`). */
  private async loadPage(url: string, render: PageLoading, signal: AbortSignal, log: PageLog | undefined, blocked: string[], limitMs?: number): Promise<FetchedPage> {
    if (render === 'http') return this.fetchPage(url, signal, log);
    const pageUrl = new URL(url);
    await this.checkRobots(pageUrl);
    const interval = await this.intervalFor(pageUrl);
    const rendered = await this.limiter.run(pageUrl.host, () => this.pageRenderer().render(url, signal, limitMs), interval);
    await log?.(`page rendered in Chromium: ${rendered.url.href} (${rendered.html.length} characters${rendered.blocked.length ? `, ${rendered.blocked.length} request${rendered.blocked.length === 1 ? '' : 's'} blocked` : ''})`);
    for (const entry of rendered.blocked) await log?.(`blocked: ${entry}`);
    blocked.push(...rendered.blocked);
    return rendered;
  }

  private pageRenderer(): PageRenderer {
    const executablePath = this.deps.config.chromium;
    // the route refuses render: "browser" without Chromium; a schedule's or an older job's data may still ask
    if (!chromiumAvailable(executablePath)) throw new HarvestError('refused', `render: browser needs Chromium, and ${executablePath ?? 'none'} is not there (WORKYARD_HARVEST_CHROMIUM)`);
    this.renderer ??= new PageRenderer({
      executablePath: executablePath!,
      policy: { allowPrivate: this.deps.config.allowPrivate, exemptRanges: this.options.exemptRanges },
      allowHosts: this.deps.config.allowHosts,
      userAgent: this.deps.userAgent,
      lookup: this.options.lookup,
      maxBytes: 5 * MAX_HTML_BYTES,
    });
    return this.renderer;
  }

  private async fetchPage(url: string, signal: AbortSignal, log?: PageLog): Promise<FetchedPage> {
    const pageUrl = new URL(url);
    const interval = await this.intervalFor(pageUrl);
    const fetchOnce = () =>
      this.limiter.run(
        pageUrl.host,
        () =>
          this.fetcher.fetch(pageUrl, {
            accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1',
            maxBytes: MAX_HTML_BYTES,
            maxBytesName: 'the 10 MB page limit',
            timeouts: this.timeouts,
            signal,
            beforeRequest: (hop) => this.checkRobots(hop),
          }),
        interval,
      );
    const fetched = await fetchHonouringRetryAfter(fetchOnce, DEFAULT_RETRY_AFTER, signal);
    assertHtmlAnswer(fetched.status, fetched.url.href, fetched.contentType);
    await log?.(`page fetched: ${fetched.url.href} (HTTP ${fetched.status}, ${fetched.body.length} bytes)`);
    return { html: decodeHtml(fetched.body, fetched.contentType).text, url: fetched.url };
  }

  private async checkRobots(url: URL): Promise<void> {
    if (!this.deps.config.respectRobots) return;
    const rules = await this.robots.rulesFor(url);
    // RFC 9309 keeps a crawler out when robots.txt cannot be reached; when that is because the
    // host cannot be reached at all, the page (or image) is what is unreachable, and the error says so.
    if (rules.unreachable) throw rules.unreachable.at(url);
    const path = url.pathname + url.search;
    if (rules.isAllowed(path)) return;
    throw new HarvestError(
      'refused',
      rules.unavailable
        ? `robots.txt of ${url.origin} could not be read (${rules.unavailable}), so nothing there is fetched (WORKYARD_HARVEST_RESPECT_ROBOTS=false to ignore robots.txt)`
        : `robots.txt of ${url.origin} disallows ${path} (WORKYARD_HARVEST_RESPECT_ROBOTS=false to ignore robots.txt)`,
    );
  }

  /** RFC 9309: 4xx means no rules; 5xx or no answer means keep out. A forbidden address fails the page. */
  private async loadRobots(origin: string): Promise<RobotsRules> {
    try {
      const fetched = await this.fetcher.fetch(new URL('/robots.txt', origin), {
        accept: 'text/plain,*/*;q=0.5',
        maxBytes: MAX_ROBOTS_BYTES,
        timeouts: { ...this.timeouts, totalMs: Math.min(this.timeouts.totalMs, 10_000) },
      });
      if (fetched.status >= 200 && fetched.status < 300) return parseRobots(fetched.body.toString('utf8'));
      if (fetched.status >= 500) return RobotsRules.unavailableBecause(`HTTP ${fetched.status}`);
      return RobotsRules.allowAll;
    } catch (error) {
      if (!(error instanceof HarvestError) || error.failure === 'refused' || error.failure === 'aborted') throw error;
      if (error instanceof UnreachableError) return RobotsRules.hostUnreachable(error);
      // Too many redirects makes it "unavailable" (allow); no answer at all makes it unreachable (keep out).
      if (error.failure === 'redirect') return RobotsRules.allowAll;
      return RobotsRules.unavailableBecause(error.message);
    }
  }

  close(): void {
    const agent = this.agent;
    this.agent = null;
    void this.renderer?.close();
    this.renderer = null;
    // In the background: the grace period is for jobs, which may still finish their requests.
    agent?.then((opened) => opened.close()).catch(() => {});
  }
}
