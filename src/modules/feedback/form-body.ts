// The body parsers of the feedback posts. JSON up to 64 KiB; a form is read up to 1 MiB so that
// one past 64 KiB, refused with 413 all the same, can be shown again to the person who typed it
// with what they typed (a browser has nothing else to show than the page it gets back). Beyond
// 1 MiB a form is not read at all: its page says so, with the form empty.
import fastifyFormbody from '@fastify/formbody';
import { parse as parseQueryString } from 'node:querystring';
import type { App } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { JSON_SUFFIX_TYPE, JSON_TYPE } from '../../http/client-kind.js';

/** 64 KiB: the largest valid submission (5,000 four-byte characters, percent-encoded) still fits. */
export const BODY_LIMIT = 64 * 1024;
/** How much of a too-large form is read to show it again: the server's default body limit. */
export const FORM_READ_LIMIT = 1024 * 1024;

/** A form past BODY_LIMIT: the 413 every client gets, with the fields a page can show again. */
export class FormTooLargeError extends AppError {
  constructor(readonly fields: Record<string, unknown>) {
    super('payload_too_large', `request body is too large: a feedback post may have at most ${BODY_LIMIT} bytes`, { field: 'body' });
  }
}

export async function registerFeedbackBodyParsers(app: App): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  for (const type of [JSON_TYPE, JSON_SUFFIX_TYPE]) {
    app.removeContentTypeParser(type);
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: BODY_LIMIT }, parseJson);
  }
  await app.register(fastifyFormbody, {
    bodyLimit: FORM_READ_LIMIT,
    parser: (text: string) => {
      const fields = parseQueryString(text);
      if (Buffer.byteLength(text) > BODY_LIMIT) throw new FormTooLargeError(fields);
      return fields;
    },
  });
}
