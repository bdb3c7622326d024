// Tasks racing on the same images store each image once: in one process on SQLite, and across
// two Workyards (two workers) sharing one PostgreSQL database and one blob directory.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureHandler, type FixtureSite, bytes, fakePng, html, slow, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { createTestDatabase, needService } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { tasksModule } from '../tasks/index.js';
import { createHarvestModule } from './index.js';
import { tablesOf } from '../../../test/support/tables.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const IMAGES = 24;
/** Longest an image waits for the second page (the harvest fetch timeout is longer). */
const GATE_MS = 5_000;

/**
 * Two pages of the same IMAGES images. No image is answered before both pages have been fetched
 * (or GATE_MS passed), so the tasks overlap however slowly a loaded machine claims the second one:
 * a worker taking one task at a time cannot finish it and take the other before the other has
 * started elsewhere.
 */
async function racePage(): Promise<FixtureSite> {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const timer = setTimeout(openGate, GATE_MS);
  const pagesFetched = new Set<string>();
  const page = (name: string, order: number[]): FixtureHandler => (request, response) => {
    pagesFetched.add(name);
    if (pagesFetched.size === 2) {
      clearTimeout(timer);
      openGate();
    }
    html(order.map((i) => `<img src="/img/${i}.png">`).join('\n'))(request, response);
  };
  const indexes = Array.from({ length: IMAGES }, (_, i) => i);
  const site = await startFixtureSite({ '/race.html': page('race', indexes), '/other.html': page('other', [...indexes].reverse()) });
  for (let i = 0; i < IMAGES; i++) {
    const image = slow(60, bytes(fakePng(`race-${i}`, 2_000), 'image/png'));
    site.route(`/img/${i}.png`, (request, response) => void gate.then(() => image(request, response)));
  }
  return site;
}

async function post(wy: TestWorkyard, url: string): Promise<string> {
  const res = await wy.workyard.app.inject({ method: 'POST', url: '/images_tasks', payload: { url } });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}

async function outcome(wy: TestWorkyard, id: string) {
  await wy.workyard.ctx.queue.waitForFinish(id, 30_000);
  const task = (await wy.workyard.app.inject({ url: `/images_tasks/${id}` })).json();
  const images = (await wy.workyard.app.inject({ url: `/images_tasks/${id}/images` })).json() as { id: string; sha256: string; error: string | null }[];
  return { task, images };
}

async function expectEachImageStoredOnce(site: FixtureSite, wy: TestWorkyard, ids: string[]) {
  const results = await Promise.all(ids.map((id) => outcome(wy, id)));
  for (const { task, images } of results) {
    expect(task).toMatchObject({ status: 'done', images_count: IMAGES, images_failed: 0 });
    expect(images.every((image) => image.error === null)).toBe(true);
  }
  // The same image rows, linked to every task.
  const idSets = results.map(({ images }) => images.map((image) => image.id).sort());
  for (const set of idSets) expect(set).toEqual(idSets[0]);
  for (let i = 0; i < IMAGES; i++) expect(site.hits(`/img/${i}.png`), `/img/${i}.png`).toBe(1);
  const db = tablesOf(wy.workyard.ctx.database);
  expect(await db.selectFrom('harvest_images').selectAll().execute()).toHaveLength(IMAGES);
  expect(await db.selectFrom('harvest_blobs').selectAll().execute()).toHaveLength(IMAGES);
  expect(await db.selectFrom('harvest_task_images').selectAll().execute()).toHaveLength(IMAGES * ids.length);
}

/** Harvest jobs this Workyard's own workers finished, from its metrics. */
async function harvestJobsRunBy(wy: TestWorkyard): Promise<number> {
  const metric = await wy.workyard.ctx.metrics.getSingleMetric('workyard_jobs_finished_total')!.get();
  return metric.values.filter((v) => v.labels.job === 'harvest.images').reduce((sum, v) => sum + v.value, 0);
}

describe('racing tasks, one process (SQLite)', () => {
  let site: FixtureSite;
  const wy = suiteWorkyard(async () => {
    site = await racePage();
    return startTestWorkyard({ WORKYARD_HARVEST_ALLOW_PRIVATE: 'true' }, { modules: [tasksModule, createHarvestModule({ waitPollMs: 10, taskConcurrency: 4, perHostConcurrency: 6 })] });
  }, () => site?.close());

  it('three tasks on pages sharing every image download each image once and all link them', async () => {
    const ids = await Promise.all([post(wy, `${site.url}/race.html`), post(wy, `${site.url}/other.html`), post(wy, `${site.url}/race.html`)]);
    await expectEachImageStoredOnce(site, wy, ids);
  });

  it('takes over an image whose claim was abandoned (its worker died)', async () => {
    const db = tablesOf(wy.workyard.ctx.database);
    const orphan = await startFixtureSite({ '/page.html': html('<img src="/orphan.png">'), '/orphan.png': bytes(fakePng('orphan'), 'image/png') });
    const source = `${orphan.url}/orphan.png`;
    await db
      .insertInto('harvest_images')
      .values({ id: 'abandoned', source_key: createHash('sha256').update(source).digest('hex'), source_url: source, status: 'running', claimed_by: 'dead-task', lease_until: Date.now() - 1, updated_at: Date.now() })
      .execute();
    const { task, images } = await outcome(wy, await post(wy, `${orphan.url}/page.html`));
    expect(task).toMatchObject({ status: 'done', images_count: 1 });
    expect(images[0].id).toBe('abandoned');
    expect(orphan.hits('/orphan.png')).toBe(1);
    await orphan.close();
  });
});

const pgAvailable = await needService('postgres');

describe.skipIf(!pgAvailable)('racing tasks, two workers sharing PostgreSQL', () => {
  let site: FixtureSite;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let one: TestWorkyard;
  let two: TestWorkyard;
  beforeAll(async () => {
    site = await racePage();
    database = await createTestDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-harvest-race-'));
    const env = { WORKYARD_HARVEST_ALLOW_PRIVATE: 'true', WORKYARD_DATABASE_URL: database.url, WORKYARD_DATA_DIR: dataDir };
    // One task at a time per worker: with two tasks queued, each worker takes one.
    const harvest = () => createHarvestModule({ waitPollMs: 10, jobConcurrency: 1, taskConcurrency: 4, perHostConcurrency: 6 });
    one = await startTestWorkyard(env, { modules: [tasksModule, harvest()] });
    two = await startTestWorkyard(env, { modules: [tasksModule, harvest()] });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await database?.drop();
    await site?.close();
  });

  it('two tasks, submitted to two instances, download each image once and both link them', async () => {
    const ids = await Promise.all([post(one, `${site.url}/race.html`), post(two, `${site.url}/other.html`)]);
    await expectEachImageStoredOnce(site, one, ids);
    // Each worker ran one of the two tasks (one task at a time each), so the race was across processes' connections.
    expect(await harvestJobsRunBy(one)).toBe(1);
    expect(await harvestJobsRunBy(two)).toBe(1);
  });
});
