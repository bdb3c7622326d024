// Finds a page's image URLs: <img> (src, srcset and the common lazy-loading attributes),
// <picture><source srcset>, and icons from <link rel>, resolved against <base href> or the page
// URL. Returns absolute http(s) URLs without fragments, and data: URLs as they are, each once, in
// the order they stand in the document.
import { loadHtml } from './html-parse.js';

/** A page listing more images than this is cut there: no real page needs more, a hostile one might. */
export const MAX_IMAGES_PER_PAGE = 5_000;

const SINGLE_URL_ATTRIBUTES = ['src', 'data-src', 'data-lazy-src', 'data-original'];
const SRCSET_ATTRIBUTES = ['srcset', 'data-srcset', 'data-lazy-srcset'];
const ICON_RELS = new Set(['icon', 'apple-touch-icon', 'apple-touch-icon-precomposed', 'mask-icon']);

export function findImageUrls(html: string, pageUrl: URL): string[] {
  const $ = loadHtml(html);
  const base = baseUrl($('base[href]').first().attr('href'), pageUrl);
  const found = new Set<string>();
  const add = (raw: string | undefined) => {
    if (raw === undefined || found.size >= MAX_IMAGES_PER_PAGE) return;
    const url = resolveImageUrl(raw, base);
    if (url) found.add(url);
  };

  // One walk in document order (a selector group matches in it), so the images are listed as
  // they stand in the page: an icon in <head> first, a <picture>'s sources before its <img>.
  $('img, picture source, link[rel][href]').each((_, element) => {
    const attributes = element.attribs;
    if (element.name === 'link') {
      const rels = attributes.rel.toLowerCase().split(/\s+/);
      if (rels.some((rel) => ICON_RELS.has(rel))) add(attributes.href);
      return;
    }
    if (element.name === 'img') {
      for (const name of SINGLE_URL_ATTRIBUTES) add(attributes[name]);
      for (const name of SRCSET_ATTRIBUTES) parseSrcset(attributes[name] ?? '').forEach(add);
    } else {
      for (const name of SRCSET_ATTRIBUTES) parseSrcset(attributes[name] ?? '').forEach(add);
      add(attributes['data-src']);
    }
  });
  return [...found];
}

function baseUrl(href: string | undefined, pageUrl: URL): URL {
  if (href === undefined) return pageUrl;
  try {
    const base = new URL(href.trim(), pageUrl);
    return base.protocol === 'http:' || base.protocol === 'https:' ? base : pageUrl;
  } catch {
    return pageUrl;
  }
}

export function resolveImageUrl(raw: string, base: URL): string | null {
  const value = raw.trim();
  if (value === '') return null;
  if (/^data:/i.test(value)) return value;
  try {
    const url = new URL(value, base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    url.hash = '';
    return url.href;
  } catch {
    return null;
  }
}

/**
 * The URLs of a srcset, following the HTML spec's parsing: a URL runs to the next whitespace
 * (so the comma inside a data: URL stays in it), trailing commas end it, and the descriptors
 * after it run to the next comma outside parentheses.
 */
export function parseSrcset(srcset: string): string[] {
  const urls: string[] = [];
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
  let i = 0;
  while (i < srcset.length) {
    while (i < srcset.length && (isSpace(srcset[i]) || srcset[i] === ',')) i++;
    if (i >= srcset.length) break;
    const start = i;
    while (i < srcset.length && !isSpace(srcset[i])) i++;
    let url = srcset.slice(start, i);
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      let depth = 0;
      for (; i < srcset.length; i++) {
        const c = srcset[i];
        if (c === '(') depth++;
        else if (c === ')') depth = Math.max(0, depth - 1);
        else if (c === ',' && depth === 0) break;
      }
    }
    if (url) urls.push(url);
  }
  return urls;
}
