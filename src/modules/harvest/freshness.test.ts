// max_age on an images task: a stored image fetched longer ago is asked for again with the
// validators of its version — a 304 keeps it, new bytes replace it, and a failure leaves it.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { solidPng } from '../../../test/support/png.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { createHarvestModule } from './index.js';

const versions = { v1: solidPng(10, 10, [1, 2, 3]), v2: solidPng(20, 20, [4, 5, 6]) };
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('freshness: max_age re-fetches stale images conditionally (fixture site on 127.0.0.1)', () => {
  let site: FixtureSite;
  let current: keyof typeof versions | 'broken' = 'v1';
  const asked: (string | undefined)[] = [];
  beforeAll(async () => {
    site = await startFixtureSite({
      '/robots.txt': (_request, response) => void response.writeHead(404).end(),
      '/page.html': html('<img src="/photo.png">'),
      '/photo.png': (request: IncomingMessage, response: ServerResponse) => {
        asked.push(request.headers['if-none-match']);
        if (current === 'broken') return void response.writeHead(500).end();
        const etag = `"${current}"`;
        if (request.headers['if-none-match'] === etag) return void response.writeHead(304, { etag }).end();
        response.writeHead(200, { 'content-type': 'image/png', etag, 'last-modified': new Date().toUTCString() }).end(versions[current]);
      },
    });
  });
  afterAll(() => site?.close());
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' }, { modules: [createHarvestModule()] }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);
  const harvest = async (extra: Record<string, unknown> = {}) => {
    const posted = await inject({ method: 'POST', url: '/images_tasks', payload: { url: `${site.url}/page.html`, ...extra } });
    await wy.workyard.ctx.queue.waitForFinish(posted.json().id, 20_000);
    const [image] = (await inject({ url: `/images_tasks/${posted.json().id}/images` })).json();
    return image as { sha256: string | null; width: number | null; error: string | null; href: string | null };
  };
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('keeps a fresh image, asks again for a stale one with its ETag, keeps it on 304, takes new bytes on 200, and keeps it when the server fails', async () => {
    expect(await harvest()).toMatchObject({ sha256: sha256(versions.v1), error: null });
    expect(asked).toEqual([undefined]);
    // fresh enough: linked without a request
    expect(await harvest({ max_age: 3600 })).toMatchObject({ sha256: sha256(versions.v1) });
    expect(asked).toHaveLength(1);

    await pause(1_100);
    expect(await harvest({ max_age: 1 })).toMatchObject({ sha256: sha256(versions.v1), error: null });
    expect(asked).toEqual([undefined, '"v1"']);
    // the 304 made it fresh again
    expect(await harvest({ max_age: 1 })).toMatchObject({ sha256: sha256(versions.v1) });
    expect(asked).toHaveLength(2);

    current = 'v2';
    await pause(1_100);
    expect(await harvest({ max_age: 1 })).toMatchObject({ sha256: sha256(versions.v2), width: 20, error: null });
    expect(asked.at(-1)).toBe('"v1"');

    current = 'broken';
    await pause(1_100);
    const kept = await harvest({ max_age: 1 });
    expect(kept).toMatchObject({ sha256: sha256(versions.v2), error: null });
    expect((await inject({ url: kept.href! })).rawPayload.equals(versions.v2)).toBe(true);
    expect(asked.at(-1)).toBe('"v2"');
  });
});
