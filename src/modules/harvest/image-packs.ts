// Image bytes are stored in packs: the images whose downloads finish together are written as one
// blob, each at its offset, and read back by range. One put per image made an images task a
// file, an fsync and a directory per image on disk (500 images: ~450 ms of puts against ~60 ms of
// downloads, bench/RESULTS.md harvest) and a PUT per image on S3; a pack is one of each for the
// images of one turn. The guarantee is the put's: a pack's put resolves once it is durable, and an
// image is recorded as stored only after that.
import type { BlobStore } from '../../infra/blobstore/contract.js';
import { callDependency } from '../../infra/dependency-errors.js';
import { newRowId } from '../../infra/ids.js';
import { TickBatch } from '../../infra/tick-batch.js';

export interface PackedImage {
  blobKey: string;
  /** where the image's bytes begin in the blob (they run for its size) */
  offset: number;
}

export interface ImagePacksOptions {
  blobs: BlobStore;
  /** deadline of one pack's put */
  putTimeoutMs: number;
  /** a pack is closed once it holds this many bytes (an image larger than that is a pack alone) */
  maxPackBytes?: number;
}

// 8 MiB: a few hundred typical images, and a put that meets its deadline on a slow disk or link.
const MAX_PACK_BYTES = 8 * 1024 * 1024;
// While one pack is being made durable the next fills; more at once would only share the disk.
const PACKS_IN_FLIGHT = 2;

// enough to span the downloads of the tasks a worker runs at once
const RECENT_DIGESTS = 4_096;

export const packKeyOf = (id: string) => `harvest/packs/${id}`;

export class ImagePacks {
  private readonly batch: TickBatch<Buffer, PackedImage>;
  /**
   * The bytes this process stored last, by sha256: the same bytes downloaded again before their row
   * is recorded (two URLs of one image, two tasks) get the copy being or just made, not a second one.
   */
  private readonly recent = new Map<string, Promise<PackedImage>>();

  constructor(private readonly options: ImagePacksOptions) {
    this.batch = new TickBatch((images) => this.write(images), { maxBatch: 1_024, maxInFlight: PACKS_IN_FLIGHT });
  }

  /** Resolves once the bytes are durable in a pack. */
  store(sha256: string, bytes: Buffer): Promise<PackedImage> {
    const known = this.recent.get(sha256);
    if (known) return known;
    const stored = this.batch.add(bytes);
    this.recent.set(sha256, stored);
    if (this.recent.size > RECENT_DIGESTS) this.recent.delete(this.recent.keys().next().value!);
    // a pack that failed is not a copy to share: the next download tries again
    stored.catch(() => this.recent.get(sha256) === stored && this.recent.delete(sha256));
    return stored;
  }

  /** One place per image, in the order given. */
  private async write(images: Buffer[]): Promise<PackedImage[]> {
    const maxBytes = this.options.maxPackBytes ?? MAX_PACK_BYTES;
    const placed: PackedImage[] = [];
    const packs: { key: string; parts: Buffer[]; size: number }[] = [];
    for (const bytes of images) {
      let pack = packs.at(-1);
      if (!pack || pack.size + bytes.length > maxBytes) packs.push((pack = { key: packKeyOf(newRowId()), parts: [], size: 0 }));
      placed.push({ blobKey: pack.key, offset: pack.size });
      pack.parts.push(bytes);
      pack.size += bytes.length;
    }
    const { blobs, putTimeoutMs } = this.options;
    await Promise.all(
      packs.map(({ key, parts, size }) =>
        callDependency(blobs.driver, putTimeoutMs, () => blobs.put(key, parts.length === 1 ? parts[0] : Buffer.concat(parts, size), { contentType: 'application/octet-stream', contentLength: size })),
      ),
    );
    return placed;
  }
}

/** The byte range of an image in its blob; none for an image stored alone (before packs). */
export function imageRange(image: { blob_offset: number | string | null; size: number | string }): { start: number; end: number } | undefined {
  if (image.blob_offset === null) return undefined;
  const start = Number(image.blob_offset);
  return { start, end: start + Number(image.size) - 1 };
}
