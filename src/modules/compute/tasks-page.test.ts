// GET /async/tasks, the page the home page links to for compute: the newest sum tasks with their
// state and result or error, each linking to its JSON. (The link went to /async/get_task_result
// without an id, a 400.) Every link of the home page is followed here and answers.
import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('the compute tasks page', () => {
  const wy = suiteWorkyard(() => startTestWorkyard());
  const inject = (url: string, accept = BROWSER) => wy.workyard.app.inject({ url, headers: { accept } });

  async function postTask(numbers: number[]): Promise<string> {
    const res = await wy.workyard.app.inject({ method: 'POST', url: '/async/post_task', headers: { 'content-type': 'application/json' }, payload: { numbers } });
    expect(res.statusCode).toBe(202);
    const id = res.json().session_id as string;
    await wy.workyard.ctx.queue.waitForFinish(id, 10_000);
    return id;
  }

  it('says there are none yet, and how to start one', async () => {
    const res = await inject('/async/tasks');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('No sum tasks yet.');
    expect(res.body).toContain('POST /async/post_task');
  });

  it('lists the newest tasks first: id linking to its JSON, state, result or error', async () => {
    const done = await postTask([1, 2.5]);
    const failed = await postTask([1.7e308, 1.7e308]);
    const res = await inject('/async/tasks');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const ids = [...res.body.matchAll(/<tr data-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual([failed, done]);
    expect(res.body).toMatch(new RegExp(`<tr data-id="${done}" class="state-done">\\n<td><a href="/async/get_task_result/${done}"><code>${done}</code></a></td>\\n<td class="state">done</td>\\n<td class="result">3.5</td>`));
    expect(res.body).toMatch(new RegExp(`<tr data-id="${failed}" class="state-failed">[\\s\\S]*?<td class="state">failed</td>\\n<td class="error">the exact sum lies beyond`));
    // each link answers the task's JSON
    const json = await inject(`/async/get_task_result/${done}`, 'application/json');
    expect(json.json()).toEqual({ session_id: done, status: 'done', result: 3.5, error: null });
    // ?limit= bounds it; a bad one is a 400 page
    expect((await inject('/async/tasks?limit=1')).body.match(/<tr data-id=/g)).toHaveLength(1);
    const badLimit = await inject('/async/tasks?limit=0');
    expect(badLimit.statusCode).toBe(400);
    expect(badLimit.headers['content-type']).toMatch(/^text\/html/);
  });

  it('is what the home page links to, and every link of the home page answers', async () => {
    const home = await inject('/');
    const hrefs = [...home.body.matchAll(/<li><a href="([^"]+)">/g)].map((m) => m[1]);
    expect(hrefs).toContain('/async/tasks');
    expect(hrefs).not.toContain('/async/get_task_result');
    for (const href of hrefs) {
      const res = await wy.workyard.app.inject({ url: href, headers: { accept: BROWSER } });
      expect(res.statusCode, href).toBeLessThan(400);
    }
  });
});
