// Gets one image's bytes: a data: URL decoded, or an http(s) URL downloaded under the per-host
// limit and the byte cap. What comes back is an image (by its Content-Type, or by its first
// bytes), with its sha256.
import { createHash } from 'node:crypto';
import { decodeDataUrl } from './data-url.js';
import { HarvestError } from './errors.js';
import type { FetchTimeouts, Fetcher, Validators } from './fetcher.js';
import type { HostLimiter } from './host-limiter.js';
import { DEFAULT_RETRY_AFTER, fetchHonouringRetryAfter } from './retry-after.js';
import { declaredImageType, sniffImageType } from './image-type.js';
import { dimensionsOf } from './image-dimensions.js';

export interface DownloadedImage {
  bytes: Buffer;
  contentType: string;
  sha256: string;
  /** read from the bytes (image-size); null when the format has none (an SVG without a size) or is not one it reads */
  width: number | null;
  height: number | null;
  /** the format the bytes are in: png, jpg, gif, webp, svg, avif, ico, … (null: not recognised) */
  format: string | null;
  /** what the server said identifies this version, for a later conditional request */
  validators?: Validators;
}

/** A conditional download found the version held still current (304). */
export const NOT_MODIFIED = Symbol('not modified');

export interface ImageDownloaderOptions {
  fetcher: Fetcher;
  limiter: HostLimiter;
  maxBytes: number;
  timeouts: FetchTimeouts;
  /** robots.txt, for each hop */
  beforeRequest?: (url: URL) => Promise<void>;
  /** the least time between two requests to the URL's host (the delay, or its Crawl-delay) */
  intervalFor?: (url: URL) => Promise<number>;
}

const ACCEPT_IMAGES = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.5';

// Types whose signature sniffImageType knows: bytes declared as one of them that match no image
// signature are a broken image, not an image in a format we cannot recognise.
const SNIFFABLE = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/gif', 'image/webp', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon', 'image/tiff', 'image/avif']);

export class ImageDownloader {
  constructor(private readonly options: ImageDownloaderOptions) {}

  /** `mayStart`: asked when the request's turn has come (after the host's pacing); a reason refuses it */
  async download(source: string, signal?: AbortSignal, mayStart?: () => string | null): Promise<DownloadedImage> {
    const downloaded = /^data:/i.test(source) ? await this.decode(source) : await this.fetch(source, signal, mayStart);
    if (downloaded === NOT_MODIFIED) throw new Error('an unconditional download answered 304');
    return downloaded;
  }

  /** As download, asking with the validators of the version held: NOT_MODIFIED when it is still current. */
  async refresh(source: string, validators: Validators, signal?: AbortSignal, mayStart?: () => string | null): Promise<DownloadedImage | typeof NOT_MODIFIED> {
    return /^data:/i.test(source) ? this.decode(source) : this.fetch(source, signal, mayStart, validators);
  }

  private async decode(source: string): Promise<DownloadedImage> {
    const decoded = decodeDataUrl(source);
    if (!decoded) throw new HarvestError('content', 'invalid data: URL');
    if (decoded.bytes.length > this.options.maxBytes) {
      throw new HarvestError('too_large', `data: image is larger than ${this.options.maxBytes} bytes (WORKYARD_HARVEST_MAX_IMAGE_BYTES)`);
    }
    return this.toImage(decoded.bytes, decoded.mediaType, 'data: URL');
  }

  private async fetch(source: string, signal?: AbortSignal, mayStart?: () => string | null, validators?: Validators): Promise<DownloadedImage | typeof NOT_MODIFIED> {
    const url = new URL(source);
    const interval = (await this.options.intervalFor?.(url)) ?? 0;
    const fetchOnce = () =>
      this.options.limiter.run(
        url.host,
        () => {
          const refused = mayStart?.();
          if (refused) throw new HarvestError('budget', refused);
          return this.options.fetcher.fetch(url, {
            accept: ACCEPT_IMAGES,
            maxBytes: this.options.maxBytes,
            maxBytesName: 'WORKYARD_HARVEST_MAX_IMAGE_BYTES',
            timeouts: this.options.timeouts,
            signal,
            beforeRequest: this.options.beforeRequest,
            validators,
            // hashed while it downloads: one pass over the bytes as they arrive, none after
            sha256: true,
          });
        },
        interval,
      );
    // the wait for a Retry-After holds no slot of the host's
    const fetched = await fetchHonouringRetryAfter(fetchOnce, DEFAULT_RETRY_AFTER, signal);
    if (fetched.status === 304 && validators) return NOT_MODIFIED;
    if (fetched.status < 200 || fetched.status >= 300) throw new HarvestError('http', `HTTP ${fetched.status} from ${fetched.url.href}`);
    return { ...(await this.toImage(fetched.body, fetched.contentType, fetched.url.href, fetched.sha256)), ...(fetched.validators ? { validators: fetched.validators } : {}) };
  }

  /** `sha256`: the digest computed while the bytes downloaded (computed here when absent) */
  private async toImage(bytes: Buffer, contentType: string | undefined, where: string, sha256?: string): Promise<DownloadedImage> {
    if (bytes.length === 0) throw new HarvestError('content', `${where} is empty`);
    const declared = declaredImageType(contentType);
    const sniffed = sniffImageType(bytes);
    if (!sniffed && declared && SNIFFABLE.has(declared)) {
      throw new HarvestError('content', `broken image: ${where} is declared ${declared} but its bytes are not one`);
    }
    const type = sniffed ?? declared;
    if (!type) throw new HarvestError('content', `not an image: ${where} is ${contentType ? contentType.split(';')[0].trim() : 'without a content type'}`);
    return { bytes, contentType: type, sha256: sha256 ?? createHash('sha256').update(bytes).digest('hex'), ...(await dimensionsOf(bytes)) };
  }
}
