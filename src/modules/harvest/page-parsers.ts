// The parsers a harvest reads pages with — cheerio over htmlparser2 (images, text, links), tldts's
// Public Suffix List, Readability over linkedom, turndown — are imported with the first page this
// process parses, not at start: together about 55 MiB of RSS (measured on the built modules), a
// third of an idle `workyard start` that may never harvest anything (#23: idle RSS < 120 MB).
// Imported once; every later page gets the same modules.
import type { findImageUrls } from './page-images.js';
import type { readPage } from './page-reading.js';
import type { extractVisibleText } from './page-text.js';
import type { findSiteLinks, siteOf } from './site-links.js';

export interface PageParsers {
  findImageUrls: typeof findImageUrls;
  readPage: typeof readPage;
  extractVisibleText: typeof extractVisibleText;
  findSiteLinks: typeof findSiteLinks;
  siteOf: typeof siteOf;
}

let loading: Promise<PageParsers> | undefined;

export function pageParsers(): Promise<PageParsers> {
  return (loading ??= importParsers());
}

async function importParsers(): Promise<PageParsers> {
  const [images, reading, text, links] = await Promise.all([import('./page-images.js'), import('./page-reading.js'), import('./page-text.js'), import('./site-links.js')]);
  return { findImageUrls: images.findImageUrls, readPage: reading.readPage, extractVisibleText: text.extractVisibleText, findSiteLinks: links.findSiteLinks, siteOf: links.siteOf };
}
