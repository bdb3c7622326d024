// The SSRF guard end to end, with WORKYARD_HARVEST_ALLOW_PRIVATE off: tasks for loopback pages
// fail with a clear error and the target site never sees a connection. The "front" site that
// redirects sits on 127.0.0.2, exempted for this test only, so that the first hop is allowed
// and the redirect to loopback is what the guard must catch.
import { describe, expect, it } from 'vitest';
import { type FixtureSite, bytes, fakePng, html, redirect, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { createHarvestModule } from './index.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

describe('harvest with the SSRF guard on', () => {
  let target: FixtureSite;
  let front: FixtureSite;

  async function harvest(kind: 'images' | 'text', url: string) {
    const posted = await wy.workyard.app.inject({ method: 'POST', url: `/${kind}_tasks`, payload: { url } });
    expect(posted.statusCode).toBe(202);
    const { id } = posted.json();
    await wy.workyard.ctx.queue.waitForFinish(id, 20_000);
    return (await wy.workyard.app.inject({ url: `/${kind}_tasks/${id}` })).json();
  }

  const wy = suiteWorkyard(async () => {
    target = await startFixtureSite({ '/': html('<img src="/secret.png">'), '/secret.png': bytes(fakePng('secret'), 'image/png') }, { ipv6: true });
    front = await startFixtureSite({
      '/to-127': redirect(`http://127.0.0.1:${target.port}/`),
      '/to-localhost': redirect(`http://localhost:${target.port}/`),
      '/to-ipv6': redirect(`http://[::1]:${target.port}/`),
      '/to-mapped': redirect(`http://[::ffff:127.0.0.1]:${target.port}/`),
      '/images.html': html(`<img src="/own.png"><img src="http://127.0.0.1:${target.port}/secret.png"><img src="/hop.png">`),
      '/own.png': bytes(fakePng('own'), 'image/png'),
      '/hop.png': redirect(`http://localhost:${target.port}/secret.png`),
    }, { host: '127.0.0.2' });
    const started = await startTestWorkyard({}, { modules: [tasksModule, createHarvestModule({ exemptRanges: ['127.0.0.2/32'] })] });
    expect(started.workyard.ctx.config.harvest.allowPrivate).toBe(false);
    return started;
  }, () => Promise.all([target?.close(), front?.close()]));

  it.each([
    ['images', 'http://127.0.0.1:PORT/', /^refused to connect to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address \(set WORKYARD_HARVEST_ALLOW_PRIVATE=true, or list the host in WORKYARD_HARVEST_ALLOW_HOSTS, to allow it\)$/],
    ['text', 'http://127.0.0.1:PORT/', /^refused to connect to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/],
    ['images', 'http://localhost:PORT/', /^refused to connect to localhost: (127\.0\.0\.1|::1) is a loopback address/],
    ['text', 'http://[::1]:PORT/', /^refused to connect to ::1: ::1 is a loopback address/],
    ['images', 'http://[::ffff:127.0.0.1]:PORT/', /^refused to connect to ::ffff:7f00:1: ::ffff:7f00:1 \(127\.0\.0\.1\) is a loopback address/],
  ] as const)('refuses a %s task for %s without a connection', async (kind, template, error) => {
    const task = await harvest(kind, template.replace('PORT', String(target.port)));
    expect(task.status).toBe('failed');
    expect(task.error).toMatch(error);
    expect(target.connections).toBe(0);
  });

  it.each(['/to-127', '/to-localhost', '/to-ipv6', '/to-mapped'])('refuses a page that redirects to loopback (%s) without a connection', async (path) => {
    const task = await harvest('text', `${front.url}${path}`);
    expect(task.status).toBe('failed');
    expect(task.error).toMatch(/^refused to connect to .*is a loopback address/);
    expect(front.hits(path)).toBe(1);
    expect(target.connections).toBe(0);
  });

  it('records images on loopback, directly or by redirect, as refused and stores the rest', async () => {
    const task = await harvest('images', `${front.url}/images.html`);
    expect(task).toMatchObject({ status: 'done', images_count: 1, images_failed: 2 });
    const images = (await wy.workyard.app.inject({ url: `/images_tasks/${task.id}/images` })).json();
    expect(images.map((image: { error: string | null }) => image.error)).toEqual([
      null,
      expect.stringMatching(/^refused to connect to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/),
      expect.stringMatching(/^refused to connect to localhost: .* is a loopback address/),
    ]);
    expect(target.connections).toBe(0);
  });
});
