// A text task reads the page as a reader would: its main text without the menus, footers and
// asides around it, as text and Markdown, and what the page says about itself (title, author,
// date, …), from a fixture site on 127.0.0.1.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { readPage } from './page-reading.js';
import { createHarvestModule } from './index.js';

const paragraphs = [
  'Rivers carry more than water: they move sand, stones and whole trees down to the sea, and the shape of every valley is the record of that work over thousands of years.',
  'Where a river slows, at a bend or at its mouth, it drops what it carries. Sandbars grow on the inside of bends, and deltas spread where the river meets still water.',
  'Engineers who straighten a river speed it up, and a faster river digs: the bed sinks, banks collapse, and the sand that used to rebuild the coast never arrives.',
];

const ARTICLE = `<!doctype html>
<html lang="en-GB">
<head>
  <title>How rivers shape valleys | Field Notes</title>
  <meta name="description" content="What rivers carry, and where they leave it.">
  <meta property="og:site_name" content="Field Notes">
  <meta property="article:published_time" content="2026-11-30T08:00:00Z">
  <link rel="canonical" href="/articles/rivers">
  <script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"ignored"},{"@type":"NewsArticle","headline":"How rivers shape valleys","author":[{"@type":"Person","name":"Ada Brook"}],"publisher":{"@type":"Organization","name":"Field Notes Ltd"}}]}</script>
</head>
<body>
  <nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/subscribe">Subscribe now</a></nav>
  <aside class="sidebar"><h3>Popular</h3><ul><li><a href="/a">Ten facts about lakes</a></li><li><a href="/b">Why the sea is salty</a></li></ul></aside>
  <article>
    <h1>How rivers shape valleys</h1>
    ${paragraphs.map((text) => `<p>${text}</p>`).join('\n    ')}
    <h2>Further reading</h2>
    <ul><li>Sediment budgets</li><li>Delta formation</li></ul>
  </article>
  <footer>© 2026 Field Notes · <a href="/privacy">Privacy</a> · Cookie settings</footer>
</body>
</html>`;

describe('reading a page (unit)', () => {
  it('finds the main text and the metadata, first source that has each', () => {
    const reading = readPage(ARTICLE, new URL('http://site.test/articles/rivers?ref=home'));
    expect(reading.metadata).toEqual({
      // JSON-LD's headline before <title>, which carries the site's name
      title: 'How rivers shape valleys',
      description: 'What rivers carry, and where they leave it.',
      language: 'en-GB',
      canonical_url: 'http://site.test/articles/rivers',
      author: 'Ada Brook',
      published_time: '2026-11-30T08:00:00Z',
      site_name: 'Field Notes',
    });
    for (const text of paragraphs) expect(reading.main).toContain(text);
    for (const chrome of ['Subscribe now', 'Ten facts about lakes', 'Cookie settings']) expect(reading.main).not.toContain(chrome);
    expect(reading.markdown).toContain('## Further reading');
    expect(reading.markdown).toMatch(/^-\s+Sediment budgets$/m);
  });

  it('has no main text for a page without an article-like part, and null for what a page does not say', () => {
    const reading = readPage('<html><body><a href="/x">one link</a></body></html>', new URL('http://site.test/'));
    expect(reading).toEqual({
      main: null,
      markdown: null,
      metadata: { title: null, description: null, language: null, canonical_url: null, author: null, published_time: null, site_name: null },
    });
    // Open Graph and a JSON-LD block that is not JSON: the first is read, the second skipped
    const og = readPage('<html><head><meta property="og:title" content="OG title"><meta property="og:locale" content="fr_FR"><script type="application/ld+json">{not json</script></head></html>', new URL('http://site.test/'));
    expect(og.metadata).toMatchObject({ title: 'OG title', language: 'fr-FR' });
  });
});

describe('text tasks: main text, metadata and downloads (fixture site on 127.0.0.1)', () => {
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({
      '/robots.txt': (_request, response) => void response.writeHead(404).end(),
      '/articles/rivers': html(ARTICLE),
      '/links.html': html('<html><head><title>Links</title></head><body><a href="/x">one link</a></body></html>'),
    });
  });
  afterAll(() => site?.close());
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' }, { modules: [createHarvestModule()] }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);
  const harvest = async (path: string) => {
    const posted = await inject({ method: 'POST', url: '/text_tasks', payload: { url: site.url + path } });
    await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 20_000);
    return (await inject({ url: `/text_tasks/${posted.json().id}` })).json();
  };

  it('keeps the full text as the default, serves the main text with ?mode=main, and tells the page\'s metadata', async () => {
    const task = await harvest('/articles/rivers');
    expect(task).toMatchObject({ status: 'done', metadata: { title: 'How rivers shape valleys', author: 'Ada Brook', canonical_url: `${site.url}/articles/rivers` } });
    const full = await inject({ url: `/text_tasks/${task.id}/text` });
    expect(full.headers['x-text-mode']).toBe('full');
    expect(full.body).toContain('Subscribe now');
    expect(task.text_length).toBe(full.body.length);
    const main = await inject({ url: `/text_tasks/${task.id}/text?mode=main` });
    expect(main.headers['x-text-mode']).toBe('main');
    expect(main.body).toContain(paragraphs[2]);
    expect(main.body).not.toContain('Subscribe now');
    expect(task.main_length).toBe(main.body.length);
    expect((await inject({ url: `/text_tasks/${task.id}/text?mode=best` })).json().error).toMatchObject({ code: 'validation_failed', field: 'mode' });
    // the list keeps its shape (no metadata per row)
    expect(Object.keys((await inject({ url: '/text_tasks?limit=1' })).json()[0])).not.toContain('metadata');
  });

  it('offers the text as files to download: .txt (either mode) and .md with the title, source and author first', async () => {
    const task = await harvest('/articles/rivers');
    const txt = await inject({ url: `/text_tasks/${task.id}/text.txt?mode=main` });
    expect(txt.headers['content-disposition']).toBe(`attachment; filename="text-${task.id}.txt"`);
    expect(txt.body).toBe((await inject({ url: `/text_tasks/${task.id}/text?mode=main` })).body);
    const md = await inject({ url: `/text_tasks/${task.id}/text.md` });
    expect(md.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(md.headers['content-disposition']).toBe(`attachment; filename="text-${task.id}.md"`);
    const lines = md.body.split('\n');
    expect(lines.slice(0, 6)).toEqual(['# How rivers shape valleys', '', `- Source: ${site.url}/articles/rivers`, '- Author: Ada Brook', '- Published: 2026-11-30T08:00:00Z', '- Site: Field Notes']);
    expect(md.body).toContain(paragraphs[0]);
    expect(md.body).not.toContain('Cookie settings');
  });

  it('falls back to the full text for a page without an article, and says so', async () => {
    const task = await harvest('/links.html');
    expect(task).toMatchObject({ status: 'done', main_length: null, metadata: { title: 'Links' } });
    const main = await inject({ url: `/text_tasks/${task.id}/text?mode=main` });
    expect(main.headers['x-text-mode']).toBe('full');
    expect(main.body).toBe('one link');
    expect((await inject({ url: `/text_tasks/${task.id}/text.md` })).body).toContain('one link');
  });

  it('answers 409 for the files of a task not done, and 404 for an unknown one', async () => {
    expect((await inject({ url: '/text_tasks/nope/text.md' })).statusCode).toBe(404);
  });
});
