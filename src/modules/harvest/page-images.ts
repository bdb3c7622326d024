// Finds a page's image URLs wherever it declares them: <img> (src, srcset and the common
// lazy-loading attributes), <picture><source srcset>, icons and preloaded images from <link rel>,
// Open Graph and Twitter card images, <video poster>, SVG <image href>, and CSS backgrounds in
// style attributes and <style> blocks — resolved against <base href> or the page URL. Returns absolute http(s) URLs without fragments, and data: URLs as they are, each once, in
// the order they stand in the document.
import { loadHtml } from './html-parse.js';
import { MAX_IMAGES_PER_PAGE } from './image-limits.js';

const SINGLE_URL_ATTRIBUTES = ['src', 'data-src', 'data-lazy-src', 'data-original'];
const SRCSET_ATTRIBUTES = ['srcset', 'data-srcset', 'data-lazy-srcset'];
const ICON_RELS = new Set(['icon', 'apple-touch-icon', 'apple-touch-icon-precomposed', 'mask-icon']);

const META_IMAGES = new Set(['og:image', 'og:image:url', 'og:image:secure_url', 'twitter:image', 'twitter:image:src']);
// CSS properties whose url() is an image (not a font, an import or a cursor file)
const CSS_IMAGE_PROPERTIES = /^(?:background|background-image|list-style|list-style-image|border-image|border-image-source|mask|mask-image|-webkit-mask-image|content)$/;

/**
 * The image URLs of CSS: url() in the values of image properties. `inline`: a style attribute's
 * declarations; else a stylesheet (rules' blocks; @import and @font-face have no such property).
 */
export function cssImageUrls(css: string, inline: boolean): string[] {
  const urls: string[] = [];
  const text = css.replace(/\/\*[^]*?\*\//g, '');
  const blocks = inline ? [text] : [...text.matchAll(/\{([^{}]*)\}/g)].map((match) => match[1]);
  for (const block of blocks) {
    for (const declaration of block.split(';')) {
      const colon = declaration.indexOf(':');
      if (colon < 0 || !CSS_IMAGE_PROPERTIES.test(declaration.slice(0, colon).trim().toLowerCase())) continue;
      for (const match of declaration.slice(colon + 1).matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)/gi)) {
        const url = match[1] ?? match[2] ?? match[3];
        if (url) urls.push(url);
      }
    }
  }
  return urls;
}

/** `allCandidates`: every URL of a srcset; by default the largest candidate stands for it. */
export function findImageUrls(html: string, pageUrl: URL, options: { allCandidates?: boolean } = {}): string[] {
  const candidates = (srcsets: (string | undefined)[], fallbacks: (string | undefined)[] = []): (string | undefined)[] => {
    const parsed = srcsets.flatMap((srcset) => parseSrcsetCandidates(srcset ?? ''));
    if (options.allCandidates) return [...fallbacks, ...parsed.map((candidate) => candidate.url)];
    // a srcset's fallback (src, href) is its 1x: the largest of them all stands for the image
    if (!parsed.length) return fallbacks;
    return [largestCandidate([...fallbacks.filter((url): url is string => url !== undefined).map((url) => ({ url, width: null, density: 1 })), ...parsed])];
  };
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
  $('img, picture source, link[rel], meta[content], video[poster], image, [style], style').each((_, element) => {
    const attributes = element.attribs;
    if (attributes.style && element.name !== 'style') cssImageUrls(attributes.style, true).forEach(add);
    if (element.name === 'style') return void cssImageUrls($(element).text(), false).forEach(add);
    if (element.name === 'link') {
      const rels = (attributes.rel ?? '').toLowerCase().split(/\s+/);
      if (rels.some((rel) => ICON_RELS.has(rel))) add(attributes.href);
      else if (rels.includes('preload') && attributes.as?.toLowerCase() === 'image') candidates([attributes.imagesrcset], [attributes.href]).forEach(add);
      return;
    }
    if (element.name === 'meta') {
      const name = (attributes.property ?? attributes.name ?? '').toLowerCase();
      if (META_IMAGES.has(name)) add(attributes.content);
      return;
    }
    if (element.name === 'video') return void add(attributes.poster);
    if (element.name === 'image') return void add(attributes.href ?? attributes['xlink:href']);
    const srcsets = SRCSET_ATTRIBUTES.map((name) => attributes[name]);
    if (element.name === 'img') {
      const singles = SINGLE_URL_ATTRIBUTES.map((name) => attributes[name]);
      // <img src=placeholder data-src=real>: without a srcset both are kept, as before (which is the image is not knowable)
      if (!srcsets.some((srcset) => parseSrcsetCandidates(srcset ?? '').length) || options.allCandidates) candidates(srcsets, singles).forEach(add);
      else candidates(srcsets, [attributes.src]).forEach(add);
    } else {
      candidates(srcsets).forEach(add);
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
export interface SrcsetCandidate {
  url: string;
  /** from a `480w` descriptor */
  width: number | null;
  /** from a `2x` descriptor (1 when there is none) */
  density: number;
}

/** The largest candidate: the widest by `w`, else the densest by `x` (the first on a tie). */
export function largestCandidate(candidates: SrcsetCandidate[]): string {
  const withWidth = candidates.filter((candidate) => candidate.width !== null);
  const pool = withWidth.length ? withWidth : candidates;
  return pool.reduce((best, candidate) => ((candidate.width ?? candidate.density) > (best.width ?? best.density) ? candidate : best)).url;
}

export function parseSrcsetCandidates(srcset: string): SrcsetCandidate[] {
  const descriptors: string[] = [];
  const urls = parseSrcset(srcset, descriptors);
  return urls.map((url, i) => {
    const width = /(?:^|\s)(\d+)w(?:\s|$)/.exec(descriptors[i]);
    const density = /(?:^|\s)(\d*\.?\d+)x(?:\s|$)/.exec(descriptors[i]);
    return { url, width: width ? Number(width[1]) : null, density: density ? Number(density[1]) : 1 };
  });
}

/** `descriptors`, when given, receives each URL's descriptor text, in the same order. */
export function parseSrcset(srcset: string, descriptors?: string[]): string[] {
  const urls: string[] = [];
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
  let i = 0;
  while (i < srcset.length) {
    while (i < srcset.length && (isSpace(srcset[i]) || srcset[i] === ',')) i++;
    if (i >= srcset.length) break;
    const start = i;
    while (i < srcset.length && !isSpace(srcset[i])) i++;
    let url = srcset.slice(start, i);
    let descriptor = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      const from = i;
      let depth = 0;
      for (; i < srcset.length; i++) {
        const c = srcset[i];
        if (c === '(') depth++;
        else if (c === ')') depth = Math.max(0, depth - 1);
        else if (c === ',' && depth === 0) break;
      }
      descriptor = srcset.slice(from, i).trim();
    }
    if (url) {
      urls.push(url);
      descriptors?.push(descriptor);
    }
  }
  return urls;
}
