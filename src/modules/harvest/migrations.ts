// Harvest's tables. An image is one row per absolute source URL (unique by a digest of the URL,
// since URLs can be longer than an index entry may be), linked to every task that found it;
// its bytes are stored once per sha256, however many URLs serve them (in a pack of images, at an offset).
import type { MigrationSet } from '../../infra/db/migrations.js';

export const harvestMigrations: MigrationSet = {
  '20261126-01-harvest-tables': () => ({
    async up(db) {
      await db.schema
        .createTable('harvest_tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull()) // images | text
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull()) // queued | running | done | failed
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('harvest_tasks_by_kind_created').on('harvest_tasks').columns(['kind', 'created_at', 'id']).execute();

      await db.schema
        .createTable('harvest_blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('blob_key', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('harvest_images')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source_key', 'text', (c) => c.notNull().unique()) // sha256 of source_url: the race-safe dedupe
        .addColumn('source_url', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull()) // running | done | failed
        .addColumn('claimed_by', 'text') // the task downloading it while running
        .addColumn('lease_until', 'bigint') // past this, a running claim is taken to be abandoned
        .addColumn('sha256', 'text', (c) => c.references('harvest_blobs.sha256'))
        .addColumn('content_type', 'text')
        .addColumn('size', 'bigint')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('harvest_task_images')
        .addColumn('task_id', 'text', (c) => c.notNull().references('harvest_tasks.id').onDelete('cascade'))
        .addColumn('image_id', 'text', (c) => c.notNull().references('harvest_images.id'))
        .addColumn('position', 'integer', (c) => c.notNull()) // order found on the page
        .addColumn('error', 'text') // why this task could not get it (null: stored)
        .addPrimaryKeyConstraint('harvest_task_images_pk', ['task_id', 'image_id'])
        .execute();
      await db.schema.createIndex('harvest_task_images_by_image').on('harvest_task_images').column('image_id').execute();

      await db.schema
        .createTable('harvest_texts')
        .addColumn('task_id', 'text', (c) => c.primaryKey().references('harvest_tasks.id').onDelete('cascade'))
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('length', 'integer', (c) => c.notNull())
        .execute();
    },
  }),
  // #21: the page's main text (Readability), as text and Markdown, and its metadata (JSON); null
  // for texts collected before, and main_* for pages without an article-like part
  '20261208-20-harvest-text-reading': () => ({
    async up(db) {
      await db.schema.alterTable('harvest_texts').addColumn('main_text', 'text').execute();
      await db.schema.alterTable('harvest_texts').addColumn('main_markdown', 'text').execute();
      await db.schema.alterTable('harvest_texts').addColumn('metadata', 'text').execute();
    },
  }),
  // #21: each stored image's format and size in pixels, read from its bytes (null for images stored before)
  '20261208-21-harvest-image-dimensions': () => ({
    async up(db) {
      await db.schema.alterTable('harvest_images').addColumn('width', 'integer').execute();
      await db.schema.alterTable('harvest_images').addColumn('height', 'integer').execute();
      await db.schema.alterTable('harvest_images').addColumn('format', 'text').execute();
    },
  }),
  // #21: the validators of each stored image's version, for a conditional re-fetch when a task's max_age says it is stale
  '20261208-22-harvest-image-validators': () => ({
    async up(db) {
      await db.schema.alterTable('harvest_images').addColumn('etag', 'text').execute();
      await db.schema.alterTable('harvest_images').addColumn('last_modified', 'text').execute();
    },
  }),
  // #21 crawl: the pages a task harvested (max_pages), in the order fetched, each with its text's
  // length (text tasks) or images found (images tasks); and the page each of a task's images was found on
  '20261209-23-harvest-task-pages': () => ({
    async up(db) {
      await db.schema
        .createTable('harvest_task_pages')
        .addColumn('task_id', 'text', (c) => c.notNull().references('harvest_tasks.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('depth', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('title', 'text')
        .addColumn('text_length', 'integer')
        .addColumn('images_found', 'integer')
        .addPrimaryKeyConstraint('harvest_task_pages_pk', ['task_id', 'position'])
        .execute();
      await db.schema.alterTable('harvest_task_images').addColumn('page_url', 'text').execute();
    },
  }),
  // #21 speed: images stored since are packed many to a blob (image-packs.ts); blob_offset is where
  // an image's bytes begin in its blob, null for an image that is a blob of its own (stored before)
  '20261210-24-harvest-image-packs': () => ({
    async up(db) {
      await db.schema.alterTable('harvest_blobs').addColumn('blob_offset', 'bigint').execute();
    },
  }),
};
