// `"render": "browser"`: the page is loaded in headless Chromium (playwright-core driving the
// machine's own Chromium; none is downloaded), launched once per worker process and reused, each
// page in a fresh context, then handed to the same extraction as a fetched page. Every request the
// page makes passes the harvest SSRF guard first (route interception: the host is resolved and each
// address judged as the fetcher judges it); refused ones are aborted and listed. A page cannot keep
// the browser: its load, its wait for network idle and its bytes are bounded, and its context is
// closed whatever happens.
//
// Known gap: Chromium resolves a host again when it connects, after the guard resolved it. A DNS
// answer that changes in between (rebinding) could reach an address the guard refused; the plain
// fetcher does not have this gap (it connects to the address it checked).
import fs from 'node:fs';
import type { Browser, Route } from 'playwright-core';
import { type AddressPolicy, isAllowedHost } from '../../infra/net/address-policy.js';
import { type LookupAll, resolveAllowedAddresses, systemLookup } from '../../infra/net/guarded-agent.js';
import { HarvestError, harvestGuardErrors } from './errors.js';
import { assertHtmlAnswer } from './html-answer.js';
import type { FetchedPage } from './site-crawl.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
/** shown in the job's log at most; the count says how many more */
const BLOCKED_LISTED = 20;

export interface RendererOptions {
  executablePath: string;
  policy: AddressPolicy;
  allowHosts: readonly string[];
  userAgent: string;
  lookup?: LookupAll;
  /** the page's load, at most (default 30 s; a task's budget_ms may shorten it) */
  timeoutMs?: number;
  /** the wait for network idle after the load, at most (default 5 s) */
  idleMs?: number;
  /** bytes of every answer the page receives, together (default 50 MB) */
  maxBytes?: number;
}

export interface RenderedPage extends FetchedPage {
  /** requests of the page the guard refused, as "<url>: <reason>" */
  blocked: string[];
}

const availability = new Map<string, boolean>();

/** Whether a Chromium is at `executablePath` (checked once per path). */
export function chromiumAvailable(executablePath: string | null): boolean {
  if (executablePath === null) return false;
  let known = availability.get(executablePath);
  if (known === undefined) {
    try {
      fs.accessSync(executablePath, fs.constants.X_OK);
      known = true;
    } catch {
      known = false;
    }
    availability.set(executablePath, known);
  }
  return known;
}

export class PageRenderer {
  private browser: Promise<Browser> | null = null;

  constructor(private readonly options: RendererOptions) {}

  async render(url: string, signal: AbortSignal, limitMs?: number): Promise<RenderedPage> {
    const timeoutMs = Math.max(1, Math.min(this.options.timeoutMs ?? 30_000, limitMs ?? Infinity));
    const browser = await this.launched();
    const context = await browser.newContext({ userAgent: this.options.userAgent, serviceWorkers: 'block', acceptDownloads: false });
    const blocked: string[] = [];
    let bytes = 0;
    const close = () => void context.close().catch(() => {});
    signal.addEventListener('abort', close, { once: true });
    try {
      await context.route('**/*', (route) => this.guard(route, blocked));
      await context.routeWebSocket(/.*/, (socket) => {
        blocked.push(`${socket.url()}: WebSocket connections are not made`);
        void socket.close();
      });
      const page = await context.newPage();
      const maxBytes = this.options.maxBytes ?? 50 * 1024 * 1024;
      let overBudget: string | null = null;
      page.on('requestfinished', (request) => {
        void request.sizes().then((sizes) => {
          bytes += sizes.responseBodySize;
          if (bytes > maxBytes && !overBudget) {
            overBudget = `the page received more than ${maxBytes} bytes`;
            close();
          }
        }, () => {});
      });
      const started = Date.now();
      let response;
      try {
        response = await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
      } catch (error) {
        if (signal.aborted) throw new HarvestError('aborted', 'the worker stopped while the page was loading');
        if (overBudget) throw new HarvestError('too_large', `${url}: ${overBudget}`);
        const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
        if (/Timeout/i.test(message)) throw new HarvestError('timeout', `${url} did not load in Chromium within ${timeoutMs} ms`);
        throw new HarvestError(blocked.length ? 'refused' : 'network', `${url} could not be loaded in Chromium: ${blocked[0] ?? message}`);
      }
      if (!response) throw new HarvestError('network', `${url} gave Chromium no answer`);
      assertHtmlAnswer(response.status(), response.url(), response.headers()['content-type']);
      // Scripts may still be fetching what they add: wait for quiet, within the time left.
      const left = timeoutMs - (Date.now() - started);
      if (left > 0) await page.waitForLoadState('networkidle', { timeout: Math.min(this.options.idleMs ?? 5_000, left) }).catch(() => {});
      if (overBudget) throw new HarvestError('too_large', `${url}: ${overBudget}`);
      const html = await page.content();
      return { html, url: new URL(page.url()), blocked: listed(blocked) };
    } finally {
      signal.removeEventListener('abort', close);
      await context.close().catch(() => {});
    }
  }

  /** The guard of every request the page makes: the same rules as the fetcher's connector. */
  private async guard(route: Route, blocked: string[]): Promise<void> {
    const target = route.request().url();
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return void (await route.abort('blockedbyclient'));
    }
    if (url.protocol === 'data:' || url.protocol === 'blob:') return void (await route.continue());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      blocked.push(`${target}: only http and https are fetched`);
      return void (await route.abort('blockedbyclient'));
    }
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    if (!isAllowedHost(this.options.allowHosts, url.hostname, port)) {
      try {
        await resolveAllowedAddresses(url.hostname, this.options.policy, this.options.lookup ?? systemLookup, 5_000, harvestGuardErrors);
      } catch (error) {
        blocked.push(`${url.href}: ${error instanceof Error ? error.message : String(error)}`);
        return void (await route.abort(error instanceof HarvestError && error.failure === 'refused' ? 'blockedbyclient' : 'namenotresolved').catch(() => {}));
      }
    }
    await route.continue().catch(() => {}); // the page may have closed meanwhile
  }

  private launched(): Promise<Browser> {
    if (!this.browser) {
      const launching = import('playwright-core').then(({ chromium }) => chromium.launch({ executablePath: this.options.executablePath, args: CHROMIUM_ARGS, timeout: 30_000 }));
      this.browser = launching;
      // a browser that crashed or failed to start is launched again by the next task
      launching.then((browser) => browser.on('disconnected', () => { if (this.browser === launching) this.browser = null; }), () => { if (this.browser === launching) this.browser = null; });
    }
    return this.browser;
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    await browser?.then((b) => b.close()).catch(() => {});
  }
}

function listed(blocked: string[]): string[] {
  return blocked.length <= BLOCKED_LISTED ? blocked : [...blocked.slice(0, BLOCKED_LISTED), `and ${blocked.length - BLOCKED_LISTED} more`];
}
