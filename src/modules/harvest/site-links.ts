// The links a crawl may follow from a page: <a href> and <area href>, resolved against <base href>
// or the page URL, http(s) only, without fragments, each once, in document order — and only those
// on the same site as the crawl's start (the same registrable domain by the Public Suffix List,
// through tldts: blog.example.co.uk and www.example.co.uk are one site, example.co.uk and
// other.co.uk are not). A page asking robots not to follow its links (<meta name="robots"
// content="nofollow">) gives none.
import { getDomain } from 'tldts';
import { loadHtml } from './html-parse.js';

/** A page listing more links than this is cut there (what a crawl follows is bounded by max_pages anyway). */
export const MAX_LINKS_PER_PAGE = 5_000;

// Links to these are files, not pages: fetching them would spend a page of max_pages on a 4xx-like "not HTML".
const NOT_PAGES = /\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|pdf|zip|gz|tgz|bz2|xz|7z|rar|tar|exe|dmg|iso|msi|apk|mp[34]|m4[av]|mov|avi|mkv|webm|ogg|wav|flac|woff2?|ttf|otf|eot|css|js|mjs|json|xml|rss|atom|csv|xlsx?|docx?|pptx?)$/i;

/** The site a URL belongs to: its registrable domain, or the host itself (an IP address, localhost, a bare name). */
export function siteOf(url: URL): string {
  const hostname = url.hostname.toLowerCase();
  return getDomain(hostname, { allowPrivateDomains: false }) ?? hostname;
}

/** The page's links on `site` that may be pages, absolute and without fragments. */
export function findSiteLinks(html: string, pageUrl: URL, site: string): string[] {
  const $ = loadHtml(html);
  const robots = $('meta[name="robots" i]')
    .map((_, element) => ($(element).attr('content') ?? '').toLowerCase())
    .get()
    .join(',');
  if (/\b(?:nofollow|none)\b/.test(robots)) return [];
  let base = pageUrl;
  const baseHref = $('base[href]').first().attr('href');
  if (baseHref) {
    try {
      base = new URL(baseHref, pageUrl);
    } catch {
      // an unusable <base> is ignored, as browsers do
    }
  }
  const links = new Set<string>();
  for (const element of $('a[href], area[href]').toArray()) {
    if (links.size >= MAX_LINKS_PER_PAGE) break;
    const href = $(element).attr('href')!.trim();
    if (!href || href.startsWith('#')) continue;
    let url: URL;
    try {
      url = new URL(href, base);
    } catch {
      continue;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) continue;
    if (NOT_PAGES.test(url.pathname) || siteOf(url) !== site) continue;
    url.hash = '';
    links.add(url.href);
  }
  return [...links];
}
