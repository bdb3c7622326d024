import { describe, expect, it } from 'vitest';
import { decodeDataUrl } from './data-url.js';
import { MAX_IMAGES_PER_PAGE } from './image-limits.js';
import { cssImageUrls, findImageUrls, parseSrcset } from './page-images.js';

const page = new URL('https://site.test/dir/page.html');

describe('finding a page’s images', () => {
  it('resolves relative and absolute src against the page', () => {
    const html = '<img src="a.png"><img src="/b.png"><img src="../c.png"><img src="https://cdn.test/d.png"><img src="//cdn.test/e.png">';
    expect(findImageUrls(html, page)).toEqual([
      'https://site.test/dir/a.png',
      'https://site.test/b.png',
      'https://site.test/c.png',
      'https://cdn.test/d.png',
      'https://cdn.test/e.png',
    ]);
  });

  it('finds images wherever the page declares them: cards, preloads, posters, SVG, CSS backgrounds', () => {
    const html = `<html><head>
        <meta property="og:image" content="/og.jpg"><meta name="twitter:image" content="https://cdn.test/tw.png">
        <meta name="description" content="/not-an-image.jpg">
        <link rel="preload" as="image" href="/hero.avif" imagesrcset="/hero-2x.avif 2x"><link rel="preload" as="font" href="/font.woff2">
        <style>
          @import url("/theme.css");
          @font-face { font-family: x; src: url(/font.woff2); }
          .banner { color: red; background: #fff url('banner.webp') no-repeat; }
          /* .old { background-image: url(old.png); } */
          li { list-style-image: url(bullet.gif) }
        </style></head>
      <body>
        <div style="background-image: url(&quot;/inline.png&quot;); cursor: url(/cursor.cur), auto"></div>
        <video poster="poster.jpg"></video>
        <svg><image href="/vector.png"></image><image xlink:href="/legacy.png"></image></svg>
      </body></html>`;
    expect(findImageUrls(html, page)).toEqual([
      'https://site.test/og.jpg',
      'https://cdn.test/tw.png',
      'https://site.test/hero-2x.avif',
      'https://site.test/dir/banner.webp',
      'https://site.test/dir/bullet.gif',
      'https://site.test/inline.png',
      'https://site.test/dir/poster.jpg',
      'https://site.test/vector.png',
      'https://site.test/legacy.png',
    ]);
    expect(cssImageUrls('background: url( "a b.png" ), url(c.png); mask-image: url(m.svg)', true)).toEqual(['a b.png', 'c.png', 'm.svg']);
  });

  it('resolves against <base href>, itself relative to the page', () => {
    expect(findImageUrls('<head><base href="/assets/"></head><img src="x.png">', page)).toEqual(['https://site.test/assets/x.png']);
    expect(findImageUrls('<base href="https://cdn.test/v2/"><img src="x.png">', page)).toEqual(['https://cdn.test/v2/x.png']);
    // A base that is not http(s) is ignored, as is a second one.
    expect(findImageUrls('<base href="javascript:alert(1)"><img src="x.png">', page)).toEqual(['https://site.test/dir/x.png']);
    expect(findImageUrls('<base href="/one/"><base href="/two/"><img src="x.png">', page)).toEqual(['https://site.test/one/x.png']);
  });

  it('reads srcset, picture sources and lazy-loading attributes', () => {
    const html = `
      <img srcset="s1.png 1x, s2.png 2x">
      <picture><source srcset="p1.webp 480w, p2.webp 800w" type="image/webp"><img src="p.jpg"></picture>
      <img data-src="lazy.png" src="placeholder.gif">
      <img data-srcset="l1.png 1x,l2.png 2x">
      <picture><source data-srcset="lp.avif"></picture>`;
    // by default the largest candidate of each srcset stands for it (its src, the 1x, included); all of them on asking
    expect(findImageUrls(html, page).map((u) => u.replace('https://site.test/dir/', ''))).toEqual(['s2.png', 'p2.webp', 'p.jpg', 'placeholder.gif', 'lazy.png', 'l2.png', 'lp.avif']);
    expect(findImageUrls(html, page, { allCandidates: true }).map((u) => u.replace('https://site.test/dir/', ''))).toEqual([
      's1.png', 's2.png', 'p1.webp', 'p2.webp', 'p.jpg', 'placeholder.gif', 'lazy.png', 'l1.png', 'l2.png', 'lp.avif',
    ]);
    // widths win over densities; a src beside a srcset is its 1x
    expect(findImageUrls('<img src="small.jpg" srcset="big.jpg 2x">', page)).toEqual(['https://site.test/dir/big.jpg']);
    expect(findImageUrls('<img src="x.jpg" srcset="a.jpg 1200w, b.jpg 3x, c.jpg 800w">', page)).toEqual(['https://site.test/dir/a.jpg']);
    expect(findImageUrls('<img src="placeholder.gif" data-srcset="real-1.jpg 1x, real-2.jpg 2x">', page)).toEqual(['https://site.test/dir/real-2.jpg']);
  });

  it('collects icons from <link rel>', () => {
    const html = `<link rel="icon" href="/favicon.ico"><link rel="shortcut icon" href="/s.ico"><link rel="apple-touch-icon" href="/touch.png">
      <link rel="stylesheet" href="/style.css"><link rel="preload" href="/x.png">`;
    expect(findImageUrls(html, page)).toEqual(['https://site.test/favicon.ico', 'https://site.test/s.ico', 'https://site.test/touch.png']);
  });

  it('lists the images in the order they stand in the page, the <head> icons where they are', () => {
    const html = `<!doctype html><html><head><link rel="icon" href="/favicon.ico"><link rel="Shortcut Icon" href="/s.ico"></head>
      <body><img src="/first.png"><picture><source srcset="/second.webp"><img src="/third.jpg"></picture>
      <link rel="apple-touch-icon" href="/fourth.png"><img srcset="/fifth.png 1x"></body></html>`;
    expect(findImageUrls(html, page).map((u) => new URL(u).pathname)).toEqual(['/favicon.ico', '/s.ico', '/first.png', '/second.webp', '/third.jpg', '/fourth.png', '/fifth.png']);
  });

  it('keeps data: URLs, drops fragments, other schemes and duplicates', () => {
    const data = 'data:image/png;base64,iVBORw0KGgo=';
    const html = `<img src="${data}"><img src="a.png#x"><img src="a.png"><img src="javascript:alert(1)"><img src="blob:https://x/1"><img src=""><img src="  b.png  ">`;
    expect(findImageUrls(html, page)).toEqual([data, 'https://site.test/dir/a.png', 'https://site.test/dir/b.png']);
  });

  it('stops at the page limit', () => {
    const html = Array.from({ length: MAX_IMAGES_PER_PAGE + 10 }, (_, i) => `<img src="/i${i}.png">`).join('');
    expect(findImageUrls(html, page)).toHaveLength(MAX_IMAGES_PER_PAGE);
  });
});

describe('srcset', () => {
  it('splits candidates and their descriptors', () => {
    expect(parseSrcset('a.png 1x, b.png 2x')).toEqual(['a.png', 'b.png']);
    expect(parseSrcset('  a.png  ,b.png,   c.png 100w  ')).toEqual(['a.png', 'b.png', 'c.png']);
    // As the spec reads it (and browsers do): a URL runs to whitespace, so this is one URL.
    expect(parseSrcset('a.png,b.png')).toEqual(['a.png,b.png']);
    expect(parseSrcset('a.png 1x,b.png 2x')).toEqual(['a.png', 'b.png']);
    expect(parseSrcset('')).toEqual([]);
    expect(parseSrcset(' , , ')).toEqual([]);
  });

  it('keeps the comma inside a data: URL and skips parentheses in descriptors', () => {
    expect(parseSrcset('data:image/png;base64,AAAA 1x, b.png 2x')).toEqual(['data:image/png;base64,AAAA', 'b.png']);
    expect(parseSrcset('a.png (foo, bar) 1x, b.png')).toEqual(['a.png', 'b.png']);
  });
});

describe('data: URLs', () => {
  it('decodes base64 and percent-encoded payloads', () => {
    expect(decodeDataUrl('data:image/png;base64,iVBORw0KGgo=')).toEqual({ mediaType: 'image/png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) });
    expect(decodeDataUrl('data:image/svg+xml,%3Csvg%20xmlns%3D%22x%22%2F%3E')?.bytes.toString()).toBe('<svg xmlns="x"/>');
    expect(decodeDataUrl('data:image/svg+xml;charset=utf-8,<svg/>')).toMatchObject({ mediaType: 'image/svg+xml' });
    expect(decodeDataUrl('data:,hello')).toMatchObject({ mediaType: 'text/plain' });
    expect(decodeDataUrl('DATA:IMAGE/GIF;BASE64,R0lG ODlh')?.bytes.toString()).toBe('GIF89a');
  });

  it('refuses malformed ones', () => {
    expect(decodeDataUrl('data:image/png;base64')).toBeNull();
    expect(decodeDataUrl('data:image/png;base64,***')).toBeNull();
    expect(decodeDataUrl('http://x/')).toBeNull();
  });
});
