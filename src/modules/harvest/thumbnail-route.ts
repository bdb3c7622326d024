// A stored image's thumbnail: WebP, its longest side 256 px (never enlarged), made by sharp
// (libvips) the first time it is asked for and kept in the blob store beside the image, one per
// image bytes (sha256), so every task and every API node shares it. sharp is loaded on first
// use: a process that never serves a thumbnail does not pay for libvips.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { AppError, ErrorReply, notFound } from '../../errors.js';
import type { Database } from '../../infra/db/database.js';
import { callDependency } from '../../infra/dependency-errors.js';
import { buffer as readAll } from 'node:stream/consumers';
import { imageRange } from './image-packs.js';
import * as store from './store.js';

export const THUMBNAIL_SIDE = 256;
/** decoding a bomb (a small file of huge dimensions) would take the process's memory */
const MAX_INPUT_PIXELS = 50_000_000;
const THUMBNAIL_HEADERS = { 'content-type': 'image/webp', 'cache-control': 'public, max-age=86400, immutable', 'x-content-type-options': 'nosniff' };

const thumbnailKeyOf = (sha256: string) => `harvest/thumbnails/${sha256.slice(0, 2)}/${sha256}.webp`;

let sharpModule: Promise<typeof import('sharp')> | null = null;
const loadSharp = () => (sharpModule ??= import('sharp'));

export async function makeThumbnail(bytes: Buffer): Promise<Buffer> {
  const sharp = (await loadSharp()).default;
  return sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, animated: false })
    .rotate() // as EXIF says the photo was taken
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
}

export function thumbnailRoute(app: App, ctx: AppContext, database: Database<store.HarvestTables>): void {
  const { blobs } = ctx;
  const timeoutMs = ctx.config.dependencyTimeoutMs;
  app.get('/images_tasks/:id/images/:imageId/thumbnail', {
    schema: {
      tags: ['harvest'],
      summary: `A stored image's thumbnail: WebP, longest side ${THUMBNAIL_SIDE} px (made on first request, then kept)`,
      params: Type.Object({ id: Type.String(), imageId: Type.String() }),
      response: { 404: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const { id, imageId } = request.params;
    const image = await database.run((db) => store.taskImageBlob(db, id, imageId));
    if (!image) throw notFound(`image ${imageId} of images task ${id}`);
    const key = thumbnailKeyOf(image.sha256);
    const kept = await callDependency(blobs.driver, timeoutMs, () => blobs.get(key));
    if (kept) return (reply as FastifyReply).headers({ ...THUMBNAIL_HEADERS, 'content-length': String(kept.meta.size) }).send(kept.body);

    const original = await callDependency(blobs.driver, timeoutMs, () => blobs.get(image.blob_key, imageRange(image)));
    if (!original) throw notFound(`the stored bytes of image ${imageId}`);
    let thumbnail: Buffer;
    try {
      thumbnail = await makeThumbnail(await readAll(original.body));
    } catch (error) {
      request.log.info({ err: error, image: imageId }, 'no thumbnail for an image sharp cannot read');
      throw new AppError('not_found', `image ${imageId} (${image.content_type}) has no thumbnail: its format cannot be decoded`);
    }
    // Kept for the next request; two nodes making the same one write the same bytes.
    await callDependency(blobs.driver, timeoutMs, () => blobs.put(key, thumbnail, { contentType: 'image/webp', contentLength: thumbnail.length })).catch((error: unknown) =>
      request.log.warn({ err: error, image: imageId }, 'a thumbnail could not be kept; it is made again next time'),
    );
    return (reply as FastifyReply).headers({ ...THUMBNAIL_HEADERS, 'content-length': String(thumbnail.length) }).send(thumbnail);
  });
}
