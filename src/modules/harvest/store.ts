// Harvest's SQL, the same on SQLite and PostgreSQL. Every function takes the Kysely instance, so
// callers run it through `database.run` (the 503 deadline) or inside a transaction.
import type { PageMetadata } from './page-reading.js';
import { type Kysely, sql } from 'kysely';
import { chunksOf, insertReturningIds, valuesPaddedToPowerOfTwo } from '../../infra/db/chunks.js';

export type TaskKind = 'images' | 'text';
export type TaskStatus = 'queued' | 'running' | 'done' | 'failed';
export type ImageStatus = 'running' | 'done' | 'failed';

export interface TaskRow {
  id: string;
  kind: TaskKind;
  url: string;
  status: TaskStatus;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** images: links stored; text: characters */
  collected: number;
  /** images: links that failed */
  failed: number;
}

export interface ImageRow {
  id: string;
  source_key: string;
  source_url: string;
  status: ImageStatus;
  claimed_by: string | null;
  lease_until: number | null;
  sha256: string | null;
  content_type: string | null;
  size: number | null;
  error: string | null;
}

/** An image's row as stored: what tasks claim, what its bytes said, and the validators of its version. */
export type StoredImageRow = ImageRow & { updated_at: number; width?: number | null; height?: number | null; format?: string | null; etag?: string | null; last_modified?: string | null };

export interface TaskImageRow {
  id: string;
  source_url: string;
  position: number;
  error: string | null;
  content_type: string | null;
  size: number | null;
  sha256: string | null;
  width?: number | null;
  height?: number | null;
  format?: string | null;
  page_url?: string | null;
}

export interface NewImage {
  id: string;
  source_key: string;
  source_url: string;
}

export interface ImageLink {
  image_id: string;
  position: number;
  error: string | null;
  /** the page of the task's crawl the image was found on (null: the task's own page, or before crawls) */
  page_url?: string | null;
}

export interface TaskPageRow {
  task_id: string;
  position: number;
  url: string;
  depth: number;
  error: string | null;
  title: string | null;
  text_length: number | null;
  images_found: number | null;
}

export type HarvestTables = {
  harvest_tasks: Omit<TaskRow, 'collected' | 'failed'>;
  harvest_texts: { task_id: string; text: string; length: number; main_text: string | null; main_markdown: string | null; metadata: string | null };
  harvest_images: StoredImageRow;
  harvest_task_images: ImageLink & { task_id: string };
  harvest_blobs: { sha256: string; blob_key: string; blob_offset: number | null; size: number; content_type: string; created_at: number };
  harvest_task_pages: TaskPageRow;
};

// ---- tasks

export async function insertTask(db: Kysely<HarvestTables>, task: { id: string; kind: TaskKind; url: string; now: number }): Promise<void> {
  await db
    .insertInto('harvest_tasks')
    .values({ id: task.id, kind: task.kind, url: task.url, status: 'queued', error: null, created_at: task.now, started_at: null, finished_at: null })
    .execute();
}

/**
 * The task a job runs, made when the job brings its own URL: a scheduled job has no row yet, and a
 * job whose data a key replaced (replace, debounce) now harvests the URL it was given last.
 */
export async function putTask(db: Kysely<HarvestTables>, task: { id: string; kind: TaskKind; url: string; now: number }): Promise<void> {
  await db
    .insertInto('harvest_tasks')
    .values({ id: task.id, kind: task.kind, url: task.url, status: 'queued', error: null, created_at: task.now, started_at: null, finished_at: null })
    .onConflict((oc) => oc.column('id').doUpdateSet({ url: task.url }))
    .execute();
}

export async function deleteTask(db: Kysely<HarvestTables>, id: string): Promise<void> {
  await db.deleteFrom('harvest_tasks').where('id', '=', id).execute();
}

function selectTasks(db: Kysely<HarvestTables>, kind: TaskKind) {
  return db
    .selectFrom('harvest_tasks as t')
    .where('t.kind', '=', kind)
    .select(['t.id', 't.kind', 't.url', 't.status', 't.error', 't.created_at', 't.started_at', 't.finished_at'])
    .select((eb) =>
      kind === 'images'
        ? [
            eb.selectFrom('harvest_task_images as l').whereRef('l.task_id', '=', 't.id').where('l.error', 'is', null).select(eb.fn.countAll().as('n')).as('collected'),
            eb.selectFrom('harvest_task_images as l').whereRef('l.task_id', '=', 't.id').where('l.error', 'is not', null).select(eb.fn.countAll().as('n')).as('failed'),
          ]
        : [eb.selectFrom('harvest_texts as x').whereRef('x.task_id', '=', 't.id').select('x.length').as('collected'), eb.lit(0).as('failed')],
    );
}

const toTaskRow = (row: Omit<TaskRow, 'collected' | 'failed'> & { collected: unknown; failed: unknown }): TaskRow => ({ ...row, collected: Number(row.collected ?? 0), failed: Number(row.failed ?? 0) });

export async function getTask(db: Kysely<HarvestTables>, kind: TaskKind, id: string): Promise<TaskRow | null> {
  const row = await selectTasks(db, kind).where('t.id', '=', id).executeTakeFirst();
  return row ? toTaskRow(row) : null;
}

/** Newest first; ties (same millisecond) broken by id so that pages never overlap. */
export async function listTasks(db: Kysely<HarvestTables>, kind: TaskKind, limit: number, offset: number): Promise<TaskRow[]> {
  const rows = await selectTasks(db, kind).orderBy('t.created_at', 'desc').orderBy('t.id', 'desc').limit(limit).offset(offset).execute();
  return rows.map(toTaskRow);
}

export async function markTaskRunning(db: Kysely<HarvestTables>, id: string, now: number): Promise<{ url: string; kind: TaskKind } | null> {
  const row = await db
    .updateTable('harvest_tasks')
    .set({ status: 'running', error: null, started_at: now, finished_at: null })
    .where('id', '=', id)
    .returning(['url', 'kind'])
    .executeTakeFirst();
  return row ?? null;
}

export async function finishTask(db: Kysely<HarvestTables>, id: string, outcome: { status: TaskStatus; error: string | null; now: number }): Promise<void> {
  const finished = outcome.status === 'done' || outcome.status === 'failed';
  await db
    .updateTable('harvest_tasks')
    .set({ status: outcome.status, error: outcome.error, finished_at: finished ? outcome.now : null })
    .where('id', '=', id)
    .execute();
}

/** Marks a task failed only if it has not finished: for jobs the queue gave up on or cancelled. */
export async function failUnfinishedTask(db: Kysely<HarvestTables>, id: string, error: string, now: number): Promise<void> {
  await db
    .updateTable('harvest_tasks')
    .set({ status: 'failed', error, finished_at: now })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .execute();
}

// ---- text

export interface SavedText {
  text: string;
  main: string | null;
  markdown: string | null;
  metadata: PageMetadata;
}

export async function saveText(db: Kysely<HarvestTables>, taskId: string, saved: SavedText): Promise<void> {
  const values = { text: saved.text, length: saved.text.length, main_text: saved.main, main_markdown: saved.markdown, metadata: JSON.stringify(saved.metadata) };
  await db
    .insertInto('harvest_texts')
    .values({ task_id: taskId, ...values })
    .onConflict((oc) => oc.column('task_id').doUpdateSet(values))
    .execute();
}

export async function getText(db: Kysely<HarvestTables>, taskId: string): Promise<HarvestTables['harvest_texts'] | null> {
  return (await db.selectFrom('harvest_texts').where('task_id', '=', taskId).selectAll().executeTakeFirst()) ?? null;
}

// ---- pages (a crawl's)

/** The pages a run of the task harvested; a re-run replaces an earlier run's. */
export async function savePages(db: Kysely<HarvestTables>, taskId: string, pages: Omit<TaskPageRow, 'task_id'>[]): Promise<void> {
  await db.deleteFrom('harvest_task_pages').where('task_id', '=', taskId).execute();
  for (const chunk of chunksOf(pages)) await db.insertInto('harvest_task_pages').values(chunk.map((page) => ({ task_id: taskId, ...page }))).execute();
}

export async function listPages(db: Kysely<HarvestTables>, taskId: string): Promise<TaskPageRow[]> {
  return db.selectFrom('harvest_task_pages').selectAll().where('task_id', '=', taskId).orderBy('position').execute();
}

// ---- images

/** Inserts the images nobody has seen, claimed for this task; returns the ids it inserted. */
export function insertClaimedImages(db: Kysely<HarvestTables>, taskId: string, images: NewImage[], now: number, leaseUntil: number): Promise<Set<string>> {
  const rows = images.map((image) => ({ ...image, status: 'running' as const, claimed_by: taskId, lease_until: leaseUntil, updated_at: now }));
  return insertReturningIds(rows, async (chunk) =>
    (await db.insertInto('harvest_images').values(chunk).onConflict((oc) => oc.column('source_key').doNothing()).returning('id').execute()).map((row) => row.id),
  );
}

/** The images whose id (or source key) is one of `values`. */
export async function imagesWhere(db: Kysely<HarvestTables>, column: 'id' | 'source_key', values: string[]): Promise<StoredImageRow[]> {
  const rows: StoredImageRow[] = [];
  for (const chunk of chunksOf(values)) rows.push(...(await db.selectFrom('harvest_images').selectAll().where(column, 'in', chunk).execute()));
  return rows;
}

/**
 * Claims existing images this task may download: failed ones (tried again), and running ones
 * whose claim was abandoned (lease over) or is this task's own (a re-run after a crash). The
 * WHERE makes it race-safe: of two tasks claiming one row, one updates it, the other gets nothing.
 */
export async function claimImages(db: Kysely<HarvestTables>, taskId: string, ids: string[], now: number, leaseUntil: number): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (const chunk of chunksOf(ids)) {
    const rows = await db
      .updateTable('harvest_images')
      .set({ status: 'running', claimed_by: taskId, lease_until: leaseUntil, error: null, updated_at: now })
      .where('id', 'in', chunk)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'failed'),
          eb.and([eb('status', '=', 'running'), eb.or([eb('lease_until', '<', now), eb('claimed_by', '=', taskId), eb('claimed_by', 'is', null)])]),
        ]),
      )
      .returning('id')
      .execute();
    for (const row of rows) claimed.add(row.id);
  }
  return claimed;
}

/** What a finished download records of its image. */
export interface ImageCompleted {
  id: string;
  taskId: string;
  sha256: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
  format: string | null;
  etag?: string;
  lastModified?: string;
  now: number;
}

/** rows per UPDATE … FROM VALUES (11 parameters each) */
const COMPLETIONS_PER_STATEMENT = 128;

/**
 * Marks images done, many per statement (UPDATE … FROM VALUES, on both dialects), each only if
 * the task that finished it still holds its claim.
 */
async function completeImagesIn(db: Kysely<HarvestTables>, images: ImageCompleted[]): Promise<void> {
  for (const chunk of chunksOf(images, COMPLETIONS_PER_STATEMENT)) {
    const rows = chunk.map((i) => sql`(${i.id}, ${i.taskId}, ${i.sha256}, ${i.contentType}, ${i.size}, ${i.width}, ${i.height}, ${i.format}, ${i.etag ?? null}, ${i.lastModified ?? null}, ${i.now})`);
    await sql`
      update harvest_images set status = 'done', sha256 = v.column3, content_type = v.column4,
        size = cast(v.column5 as bigint), width = cast(v.column6 as integer), height = cast(v.column7 as integer),
        format = v.column8, etag = v.column9, last_modified = v.column10, error = null,
        claimed_by = null, lease_until = null, updated_at = cast(v.column11 as bigint)
      from ${valuesPaddedToPowerOfTwo(rows, 11)} as v
      where harvest_images.id = v.column1 and harvest_images.claimed_by = v.column2`.execute(db);
  }
}

/** Claims stored images fetched before `staleBefore`, to fetch them again; returns the ids claimed. */
export async function claimStaleImages(db: Kysely<HarvestTables>, taskId: string, ids: string[], staleBefore: number, now: number, leaseUntil: number): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (const chunk of chunksOf(ids)) {
    const rows = await db
      .updateTable('harvest_images')
      .set({ status: 'running', claimed_by: taskId, lease_until: leaseUntil })
      .where('id', 'in', chunk)
      .where('status', '=', 'done')
      .where('updated_at', '<', staleBefore)
      .returning('id')
      .execute();
    for (const row of rows) claimed.add(row.id);
  }
  return claimed;
}

/** A re-fetch ended: the stored version stands, fresh as of `now` when the server said so (304), as it was when the re-fetch failed. */
export async function releaseRefresh(db: Kysely<HarvestTables>, image: { id: string; taskId: string; confirmedAt: number | null }): Promise<void> {
  await db
    .updateTable('harvest_images')
    .set({ status: 'done', claimed_by: null, lease_until: null, ...(image.confirmedAt !== null ? { updated_at: image.confirmedAt } : {}) })
    .where('id', '=', image.id)
    .where('claimed_by', '=', image.taskId)
    .execute();
}

export async function failImage(db: Kysely<HarvestTables>, image: { id: string; taskId: string; error: string; now: number }): Promise<void> {
  await db
    .updateTable('harvest_images')
    .set({ status: 'failed', error: image.error, claimed_by: null, lease_until: null, updated_at: image.now })
    .where('id', '=', image.id)
    .where('claimed_by', '=', image.taskId)
    .execute();
}

/** Which of these digests have their bytes stored already. */
export async function storedBlobs(db: Kysely<HarvestTables>, sha256s: string[]): Promise<Set<string>> {
  const stored = new Set<string>();
  for (const chunk of chunksOf(sha256s)) {
    for (const row of await db.selectFrom('harvest_blobs').where('sha256', 'in', chunk).select('sha256').execute()) stored.add(row.sha256);
  }
  return stored;
}

export interface ImageCompletion {
  image: ImageCompleted;
  /** set: the bytes were put under this key by this download, and their row is added */
  blob?: BlobRecord;
}

/**
 * Records a batch of finished downloads in one transaction (one commit for many images): their
 * blobs first, so that no image is ever done without its bytes' row.
 */
export async function completeImages(db: Kysely<HarvestTables>, completions: ImageCompletion[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const blobs = completions.flatMap((completion) => (completion.blob ? [completion.blob] : []));
    for (const chunk of chunksOf(blobs)) {
      await trx
        .insertInto('harvest_blobs')
        .values(chunk.map((blob) => ({ sha256: blob.sha256, blob_key: blob.blobKey, blob_offset: blob.offset, size: blob.size, content_type: blob.contentType, created_at: blob.now })))
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    }
    await completeImagesIn(trx, completions.map((completion) => completion.image));
  });
}

/** The row of a blob: bytes stored once per sha256, in the pack `blobKey` from `offset` (rows from before packs have none: the whole blob). */
export interface BlobRecord {
  sha256: string;
  blobKey: string;
  offset: number;
  size: number;
  contentType: string;
  now: number;
}

/** Links images to a task; a re-run of the task overwrites its earlier outcome. */
export async function linkImages(db: Kysely<HarvestTables>, taskId: string, links: ImageLink[]): Promise<void> {
  for (const chunk of chunksOf(links)) {
    await db
      .insertInto('harvest_task_images')
      .values(chunk.map((link) => ({ task_id: taskId, ...link, page_url: link.page_url ?? null })))
      .onConflict((oc) => oc.columns(['task_id', 'image_id']).doUpdateSet((eb) => ({ error: eb.ref('excluded.error'), position: eb.ref('excluded.position'), page_url: eb.ref('excluded.page_url') })))
      .execute();
  }
}

export async function listTaskImages(db: Kysely<HarvestTables>, taskId: string): Promise<TaskImageRow[]> {
  return db
    .selectFrom('harvest_task_images as l')
    .innerJoin('harvest_images as i', 'i.id', 'l.image_id')
    .where('l.task_id', '=', taskId)
    .select(['i.id', 'i.source_url', 'l.position', 'l.error', 'i.content_type', 'i.size', 'i.sha256', 'i.width', 'i.height', 'i.format', 'l.page_url'])
    .orderBy('l.position')
    .execute();
}

/** The images a task has stored (linked without an error), joined with their blobs. */
const storedTaskImages = (db: Kysely<HarvestTables>, taskId: string) =>
  db
    .selectFrom('harvest_task_images as l')
    .innerJoin('harvest_images as i', 'i.id', 'l.image_id')
    .innerJoin('harvest_blobs as b', 'b.sha256', 'i.sha256')
    .where('l.task_id', '=', taskId)
    .where('l.error', 'is', null);

/** A task's stored images with their blobs, in page order (its archive). */
export async function listTaskImageBlobs(db: Kysely<HarvestTables>, taskId: string): Promise<(TaskImageRow & StoredBytes)[]> {
  const rows = await storedTaskImages(db, taskId)
    .select(['i.id', 'i.source_url', 'l.position', 'l.error', 'i.content_type', 'b.size', 'i.sha256', 'i.width', 'i.height', 'i.format', 'b.blob_key', 'b.blob_offset', 'l.page_url'])
    .orderBy('l.position')
    .execute();
  return rows as (TaskImageRow & StoredBytes)[];
}

/** Where an image's bytes are: `blob_key` from `blob_offset` for `size` bytes (imageRange). */
export interface StoredBytes {
  blob_key: string;
  blob_offset: number | null;
  content_type: string;
  size: number;
  sha256: string;
}

/** The blob behind a task's stored image, or null when the task has no such stored image. */
export async function taskImageBlob(db: Kysely<HarvestTables>, taskId: string, imageId: string): Promise<StoredBytes | null> {
  const row = await storedTaskImages(db, taskId)
    .where('l.image_id', '=', imageId)
    .select(['b.blob_key', 'b.blob_offset', 'i.content_type', 'b.size', 'b.sha256'])
    .executeTakeFirst();
  // a stored image has its content type (the join on its blob finds only stored ones)
  return (row as StoredBytes | undefined) ?? null;
}
