import { describe, expect, it } from 'vitest';
import { findSiteLinks, siteOf } from './site-links.js';

describe('site links: what a crawl may follow from a page', () => {
  it('takes the registrable domain as the site (Public Suffix List), and the host itself for addresses and bare names', () => {
    expect(siteOf(new URL('https://blog.example.co.uk/a'))).toBe('example.co.uk');
    expect(siteOf(new URL('https://www.example.co.uk/'))).toBe('example.co.uk');
    expect(siteOf(new URL('https://other.co.uk/'))).toBe('other.co.uk');
    expect(siteOf(new URL('http://127.0.0.1:8080/'))).toBe('127.0.0.1');
    expect(siteOf(new URL('http://localhost:8080/'))).toBe('localhost');
  });

  it('follows <a> and <area> links on the site, resolved against <base>, once each, without fragments, files or other schemes', () => {
    const page = new URL('https://www.example.com/dir/page.html');
    const html = `<base href="https://www.example.com/base/">
      <a href="one.html#part">1</a> <a href="/two.html">2</a> <a href="one.html">again</a>
      <a href="https://blog.example.com/post">same site</a> <a href="https://example.org/">other site</a>
      <a href="#top">top</a> <a href="mailto:a@example.com">mail</a> <a href="javascript:void 0">js</a>
      <a href="/report.pdf">pdf</a> <a href="/photo.JPG">photo</a> <a href="https://user:pw@www.example.com/x">credentials</a>
      <map><area href="/area.html"></map>`;
    expect(findSiteLinks(html, page, siteOf(page))).toEqual([
      'https://www.example.com/base/one.html',
      'https://www.example.com/two.html',
      'https://blog.example.com/post',
      'https://www.example.com/area.html',
    ]);
  });

  it('gives no link from a page whose robots meta says nofollow (or none)', () => {
    const page = new URL('http://127.0.0.1/');
    expect(findSiteLinks('<meta name="robots" content="index, nofollow"><a href="/a">a</a>', page, '127.0.0.1')).toEqual([]);
    expect(findSiteLinks('<meta name="ROBOTS" content="none"><a href="/a">a</a>', page, '127.0.0.1')).toEqual([]);
    expect(findSiteLinks('<meta name="robots" content="noindex"><a href="/a">a</a>', page, '127.0.0.1')).toEqual(['http://127.0.0.1/a']);
  });
});
