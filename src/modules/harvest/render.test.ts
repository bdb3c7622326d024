// render: "browser" — pages whose content a script adds after load, rendered in Debian's Chromium,
// with every request the page makes through the SSRF guard: only the fixture's own address is
// allowed (WORKYARD_HARVEST_ALLOW_HOSTS, private addresses otherwise refused), so the page's
// request to another loopback port is blocked before it leaves, and listed.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureSite, bytes, fakePng, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { createHarvestModule } from './index.js';

describe('render: "browser" (headless Chromium, fixture sites on 127.0.0.1)', () => {
  let site: FixtureSite;
  let other: FixtureSite;
  beforeAll(async () => {
    other = await startFixtureSite({ '/secret': html('<p>not for the page</p>') });
    site = await startFixtureSite({
      '/robots.txt': (_request, response) => void response.writeHead(404).end(),
      '/app.html': html(`<title>App</title><div id="root">loading</div><script>
        document.getElementById('root').innerHTML = '<p>words a script wrote</p><img src="/late.png">';
        fetch('http://127.0.0.1:${other.port}/secret').catch(() => {});
        setTimeout(() => { const p = document.createElement('p'); p.textContent = 'and later ones'; document.body.appendChild(p); }, 300);
      </script>`),
      '/late.png': bytes(fakePng('late'), 'image/png'),
    });
  });
  afterAll(async () => {
    await site?.close();
    await other?.close();
  });
  const wy = suiteWorkyard(() =>
    startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'false', WORKYARD_HARVEST_ALLOW_HOSTS: `127.0.0.1:${site.port}` }, { modules: [tasksModule, createHarvestModule()] }),
  );
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);
  const run = async (kind: 'images' | 'text', payload: Record<string, unknown>) => {
    const posted = await inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: `${site.url}/app.html`, ...payload } });
    expect(posted.statusCode, posted.body).toBe(202);
    const { id } = posted.json();
    await wy.workyard.ctx.queue.waitForFinish(id, 60_000);
    return { id, task: (await inject({ url: `/${kind}_tasks/${id}` })).json(), job: (await inject({ url: `/tasks/${id}` })).json(), logs: (await inject({ url: `/tasks/${id}/logs` })).json().logs as { message: string }[] };
  };

  it('collects the text a script writes only when the page is rendered, and blocks and lists the page\'s request to another address', async () => {
    const plain = await run('text', {});
    expect(plain.task.status, plain.task.error).toBe('done');
    expect((await inject({ url: `/text_tasks/${plain.id}/text` })).body).not.toContain('words a script wrote');

    const rendered = await run('text', { render: 'browser' });
    expect(rendered.task.status, rendered.task.error).toBe('done');
    const text = (await inject({ url: `/text_tasks/${rendered.id}/text` })).body;
    expect(text).toContain('words a script wrote');
    expect(text).toContain('and later ones'); // written after load, before the network went idle
    expect(text).not.toContain('loading');
    const secret = `http://127.0.0.1:${other.port}/secret`;
    expect(rendered.job.result.blocked_requests).toEqual([expect.stringMatching(new RegExp(`^${secret}: refused to connect to 127\\.0\\.0\\.1: 127\\.0\\.0\\.1 is a loopback address`))]);
    expect(rendered.logs.map((line) => line.message)).toContainEqual(expect.stringContaining(`blocked: ${secret}`));
    expect(other.requests.size).toBe(0);
  });

  it('stores the images a script adds, fetched through the same guard as any image', async () => {
    const rendered = await run('images', { render: 'browser' });
    expect(rendered.task).toMatchObject({ status: 'done', images_count: 1, images_failed: 0 });
    const [image] = (await inject({ url: `/images_tasks/${rendered.id}/images` })).json();
    expect(image).toMatchObject({ src: `${site.url}/late.png`, page_url: `${site.url}/app.html`, error: null });
    const plain = await run('images', {});
    expect(plain.task).toMatchObject({ status: 'done', images_count: 0 });
  });

  it('refuses a page on an address outside the allow-list, rendered or not', async () => {
    for (const render of ['http', 'browser']) {
      const posted = await inject({ method: 'POST', url: '/text_tasks', payload: { url: `http://127.0.0.1:${other.port}/secret`, render } });
      await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 60_000);
      const task = (await inject({ url: `/text_tasks/${posted.json().id}` })).json();
      expect(task.status, render).toBe('failed');
      expect(task.error, render).toMatch(/loopback address/);
    }
    expect(other.requests.size).toBe(0);
  });
});

describe('render: "browser" without Chromium', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_HARVEST_CHROMIUM: '/nonexistent/chromium' }, { modules: [createHarvestModule()] }));

  it('is a 400 naming render, and nothing is queued', async () => {
    for (const kind of ['images', 'text']) {
      const res = await wy.workyard.app.inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url: 'http://example.com/', render: 'browser' } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'render' });
      expect(res.json().error.message).toContain('/nonexistent/chromium');
    }
    expect((await wy.workyard.app.inject({ method: 'POST', url: '/text_tasks', payload: { url: 'http://example.com/', render: 'pdf' } })).json().error.field).toBe('render');
  });
});
