// What a reader came for: the page's main text (Mozilla's Readability, the library behind Firefox's
// Reader View, over linkedom's DOM: no browser, no jsdom), as lines of text and as Markdown, and
// what the page says about itself — title, description, language, canonical URL, author, published
// time, site name — from <meta>, Open Graph, JSON-LD and the document, first source that has it.
import { Readability, isProbablyReaderable } from '@mozilla/readability';
import type { Element } from 'domhandler';
import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';
import { loadHtml } from './html-parse.js';
import { extractVisibleText } from './page-text.js';

export interface PageMetadata {
  title: string | null;
  description: string | null;
  language: string | null;
  canonical_url: string | null;
  author: string | null;
  published_time: string | null;
  site_name: string | null;
}

export interface PageReading {
  /** the main text, one line per block; null when the page has no article-like part */
  main: string | null;
  /** the main part as Markdown (null with `main`) */
  markdown: string | null;
  metadata: PageMetadata;
}

/** Readability gives up on pages larger than this many elements (it is quadratic on some shapes). */
const MAX_ELEMENTS = 50_000;
const clean = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value.replace(/\s+/g, ' ').trim().slice(0, 2_000) : null);
const first = (...values: unknown[]) => values.map(clean).find((value) => value !== null) ?? null;

export function readPage(html: string, pageUrl: URL): PageReading {
  return { ...readMain(html, pageUrl), metadata: readMetadata(html, pageUrl) };
}

function readMain(html: string, pageUrl: URL): Pick<PageReading, 'main' | 'markdown'> {
  const { document } = parseHTML(html);
  if (document.getElementsByTagName('*').length > MAX_ELEMENTS) return { main: null, markdown: null };
  // Readability resolves links against the document's URL; linkedom's document has none, so a <base> says it.
  if (!document.querySelector('base[href]') && document.head) {
    const base = document.createElement('base');
    base.setAttribute('href', pageUrl.href);
    document.head.prepend(base);
  }
  // Readability always returns its best guess; Firefox shows Reader View only where this says so
  if (!isProbablyReaderable(document as unknown as Parameters<typeof isProbablyReaderable>[0])) return { main: null, markdown: null };
  const article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0], { charThreshold: 200 }).parse();
  if (!article?.content) return { main: null, markdown: null };
  const main = extractVisibleText(article.content);
  if (!main.trim()) return { main: null, markdown: null };
  const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
  return { main, markdown: turndown.turndown(article.content).trim() };
}

/** The JSON-LD objects of the page (`@graph` flattened); malformed blocks are skipped. */
function jsonLdObjects($: ReturnType<typeof loadHtml>): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  $('script[type="application/ld+json"]').each((_, element) => {
    try {
      const parsed: unknown = JSON.parse($(element).text());
      const queue = Array.isArray(parsed) ? [...parsed] : [parsed];
      while (queue.length) {
        const item = queue.shift();
        if (!item || typeof item !== 'object') continue;
        objects.push(item as Record<string, unknown>);
        const graph = (item as { '@graph'?: unknown })['@graph'];
        if (Array.isArray(graph)) queue.push(...graph);
      }
    } catch {
      // a block a site got wrong says nothing
    }
  });
  return objects;
}

/** A JSON-LD person or organisation's name: a string, an object with `name`, or a list of either. */
function nameOf(value: unknown): string | null {
  if (Array.isArray(value)) return first(...value.map(nameOf));
  if (value && typeof value === 'object') return clean((value as { name?: unknown }).name);
  return clean(value);
}

function readMetadata(html: string, pageUrl: URL): PageMetadata {
  const $ = loadHtml(html);
  const meta = (...names: string[]) => {
    for (const name of names) {
      const content = $(`meta[property="${name}" i], meta[name="${name}" i], meta[itemprop="${name}" i]`).first().attr('content');
      if (clean(content)) return clean(content);
    }
    return null;
  };
  const articles = jsonLdObjects($).filter((item) => typeof item.headline === 'string' || /Article|Posting|Page/.test(String(item['@type'] ?? '')));
  const ld = (field: string) => first(...articles.map((item) => item[field]));
  const absolute = (href: string | null) => {
    if (!href) return null;
    try {
      const url = new URL(href, pageUrl);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch {
      return null;
    }
  };
  const htmlElement = $('html').first()[0] as Element | undefined;
  return {
    title: first(meta('og:title', 'twitter:title'), ld('headline'), $('title').first().text(), $('h1').first().text()),
    description: first(meta('description', 'og:description', 'twitter:description'), ld('description')),
    language: first(htmlElement?.attribs?.lang, htmlElement?.attribs?.['xml:lang'], $('meta[http-equiv="content-language" i]').attr('content'), meta('og:locale')?.replace('_', '-')),
    canonical_url: absolute(first($('link[rel~="canonical" i]').first().attr('href'), meta('og:url'))),
    author: first(meta('author', 'article:author', 'twitter:creator'), ...articles.map((item) => nameOf(item.author)), $('[rel~="author"]').first().text()),
    published_time: first(meta('article:published_time', 'datePublished', 'date', 'dc.date'), ld('datePublished'), $('time[datetime]').first().attr('datetime')),
    site_name: first(meta('og:site_name', 'application-name'), ...articles.map((item) => nameOf(item.publisher))),
  };
}
