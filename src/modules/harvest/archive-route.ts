// An images task's results as one file to download: a zip of its stored images, named by their
// order on the page and their original file names, with a manifest.json saying where each came
// from. Streamed (yazl): each image's bytes are read from the blob store only when the zip reaches
// it, so a task of 5,000 images holds one open blob at a time and the answer starts at once.
import path from 'node:path';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, notFound } from '../../errors.js';
import type { Database } from '../../infra/db/database.js';
import { imageRange } from './image-packs.js';
import * as store from './store.js';

// A Map: the remote server's Content-Type indexes it, and "image/constructor" must not reach an
// object's prototype (the file would be named with a function's text).
const EXTENSIONS = new Map(Object.entries({ jpg: 'jpg', jpeg: 'jpg', png: 'png', gif: 'gif', webp: 'webp', avif: 'avif', svg: 'svg', ico: 'ico', cur: 'cur', bmp: 'bmp', tiff: 'tif', heif: 'heic' }));

/** `0007-cat.png`: the image's place on the page, then its file name (made safe), with an extension its format says. */
export function archiveName(position: number, source: string, format: string | null, contentType: string | null): string {
  let base = 'image';
  if (!/^data:/i.test(source)) {
    const last = decodeURIComponentSafe(new URL(source).pathname.split('/').pop() ?? '');
    base = last.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80) || 'image';
  }
  const extension = (format && EXTENSIONS.get(format)) ?? EXTENSIONS.get((contentType ?? '').replace(/^image\//, '').replace(/\+xml$/, '').split(';')[0]) ?? null;
  const stem = path.extname(base) ? base.slice(0, -path.extname(base).length) || 'image' : base;
  return `${String(position + 1).padStart(4, '0')}-${stem}${extension ? `.${extension}` : path.extname(base)}`;
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function archiveRoute(app: App, ctx: AppContext, database: Database<store.HarvestTables>): void {
  app.get('/images_tasks/:id/archive.zip', {
    schema: {
      tags: ['harvest'],
      summary: 'The stored images of a task as a zip (streamed), named by page order and file name, with a manifest.json of each image\'s URL, sha256, size and dimensions',
      params: Type.Object({ id: Type.String() }),
      response: { 404: ErrorReply },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    if (!(await database.run((db) => store.getTask(db, 'images', id)))) throw notFound(`images task ${id}`);
    const rows = await database.run((db) => store.listTaskImageBlobs(db, id));
    const images = rows.map((row) => ({ ...row, file: archiveName(row.position, row.source_url, row.format ?? null, row.content_type) }));
    const manifest = {
      task_id: id,
      images: images.map((image) => ({
        file: image.file,
        url: image.source_url,
        page_url: image.page_url ?? null,
        sha256: image.sha256,
        size: Number(image.size),
        content_type: image.content_type,
        format: image.format ?? null,
        width: image.width ?? null,
        height: image.height ?? null,
      })),
    };
    // yazl is loaded with the first archive asked for, not at start (#23: idle memory)
    const { ZipFile } = await import('yazl');
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 'manifest.json');
    for (const image of images) {
      // stored, not deflated: images are compressed already
      zip.addReadStreamLazy(image.file, { compress: false, size: Number(image.size) }, (done) => {
        ctx.blobs.get(image.blob_key, imageRange(image)).then(
          (blob) => (blob ? done(null, blob.body) : done(new Error(`the bytes of ${image.file} are missing from the blob store`), undefined as never)),
          (error: unknown) => done(error, undefined as never),
        );
      });
    }
    zip.end();
    // A blob that cannot be read cuts the download short (the client sees an incomplete zip), as a
    // failing disk would: the status line has gone out by then.
    zip.on('error', (error: Error) => {
      request.log.warn({ err: error, task: id }, 'an images archive was cut short');
      (zip.outputStream as unknown as { destroy(error: Error): void }).destroy(error);
    });
    return (reply as FastifyReply)
      .type('application/zip')
      .header('content-disposition', `attachment; filename="images-${id.replace(/[^A-Za-z0-9-]/g, '')}.zip"`)
      .send(zip.outputStream);
  });
}
