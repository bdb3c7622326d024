// What makes an answer a page harvest can read, fetched or rendered alike: a 2xx status and an HTML type.
import { HarvestError } from './errors.js';

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

/** Throws the task's error when the answer at `url` is not a 2xx HTML page. */
export function assertHtmlAnswer(status: number, url: string, contentType: string | undefined): void {
  if (status < 200 || status >= 300) throw new HarvestError('http', `HTTP ${status} from ${url}`);
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!HTML_TYPES.has(type)) throw new HarvestError('content', `not an HTML page: ${url} is ${type || 'without a content type'} (text/html or application/xhtml+xml expected)`);
}
