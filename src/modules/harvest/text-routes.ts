// A text task's results: its text (the page's full visible text, or its main text), as an answer
// or as a file to download (.txt, .md), and what the page says about itself.
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../app-context.js';
import { AppError, ErrorReply, notFound } from '../../errors.js';
import type { Database } from '../../infra/db/database.js';
import type { PageMetadata } from './page-reading.js';
import * as store from './store.js';

const TaskParams = Type.Object({ id: Type.String() });
const ModeQuery = Type.Object({
  mode: Type.Union([Type.Literal('full'), Type.Literal('main')], {
    default: 'full',
    description: 'full: every visible word (the default, as before); main: the main text only (Readability), or the full text when the page has no article-like part (X-Text-Mode says which was sent)',
  }),
});

export const PageMetadataSchema = Type.Union(
  [
    Type.Object({
      title: Type.Union([Type.String(), Type.Null()]),
      description: Type.Union([Type.String(), Type.Null()]),
      language: Type.Union([Type.String(), Type.Null()]),
      canonical_url: Type.Union([Type.String(), Type.Null()]),
      author: Type.Union([Type.String(), Type.Null()]),
      published_time: Type.Union([Type.String(), Type.Null()], { description: 'as the page gave it (usually ISO 8601)' }),
      site_name: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ],
  { description: 'from <meta>, Open Graph and JSON-LD, once done (null for texts collected before they were read)' },
);

type TextRow = NonNullable<Awaited<ReturnType<typeof store.getText>>>;

export const metadataOf = (row: TextRow | null): PageMetadata | null => (row?.metadata ? (JSON.parse(row.metadata) as PageMetadata) : null);

/** A file name for a download: the task's id (the page's title could carry anything). */
const attachment = (id: string, extension: string) => `attachment; filename="text-${id.replace(/[^A-Za-z0-9-]/g, '')}.${extension}"`;

function markdownOf(row: TextRow, metadata: PageMetadata | null, url: string): string {
  const lines = [`# ${metadata?.title ?? url}`, ''];
  const facts = [
    ['Source', metadata?.canonical_url ?? url],
    ['Author', metadata?.author],
    ['Published', metadata?.published_time],
    ['Site', metadata?.site_name],
  ].filter(([, value]) => value);
  for (const [name, value] of facts) lines.push(`- ${name}: ${value}`);
  if (metadata?.description) lines.push('', `> ${metadata.description}`);
  lines.push('', row.main_markdown ?? row.text, '');
  return lines.join('\n');
}

/**
 * `task` finds the task (or 404) with the queue's word on it; the text is served once it is done
 * (409 before, naming its status).
 */
export function textRoutes(app: App, database: Database<store.HarvestTables>, task: (id: string) => Promise<store.TaskRow>): void {
  const doneText = async (id: string) => {
    const row = await task(id);
    if (row.status !== 'done') throw new AppError('conflict', `text task ${id} is ${row.status}${row.error ? ` (${row.error})` : ''}; its text is served once it is done`, { status: row.status });
    const text = await database.run((db) => store.getText(db, id));
    if (!text) throw notFound(`the text of text task ${id}`);
    return { task: row, text };
  };
  const textOf = (row: TextRow, mode: 'full' | 'main') => (mode === 'main' && row.main_text !== null ? { body: row.main_text, sent: 'main' } : { body: row.text, sent: 'full' });
  const tags = ['harvest'];

  app.get('/text_tasks/:id/text', {
    schema: {
      tags,
      summary: 'The text a task collected (text/plain; charset=utf-8): the full visible text, or ?mode=main',
      params: TaskParams,
      querystring: ModeQuery,
      response: { 200: Type.String(), 400: ErrorReply, 404: ErrorReply, 409: ErrorReply },
    },
  }, async (request, reply) => {
    const { text } = await doneText(request.params.id);
    const { body, sent } = textOf(text, request.query.mode);
    return reply.type('text/plain; charset=utf-8').header('x-text-mode', sent).send(body);
  });

  app.get('/text_tasks/:id/text.txt', {
    schema: { tags, summary: 'The text as a file to download (?mode=main|full, as /text)', params: TaskParams, querystring: ModeQuery, response: { 400: ErrorReply, 404: ErrorReply, 409: ErrorReply } },
  }, async (request, reply) => {
    const { text } = await doneText(request.params.id);
    const { body, sent } = textOf(text, request.query.mode);
    return (reply as FastifyReply).type('text/plain; charset=utf-8').header('x-text-mode', sent).header('content-disposition', attachment(request.params.id, 'txt')).send(body);
  });

  app.get('/text_tasks/:id/text.md', {
    schema: {
      tags,
      summary: 'The main text as Markdown to download: the title, source, author and date, then the article (the full text when the page has none)',
      params: TaskParams,
      response: { 404: ErrorReply, 409: ErrorReply },
    },
  }, async (request, reply) => {
    const { task: row, text } = await doneText(request.params.id);
    return (reply as FastifyReply)
      .type('text/markdown; charset=utf-8')
      .header('x-text-mode', text.main_markdown === null ? 'full' : 'main')
      .header('content-disposition', attachment(request.params.id, 'md'))
      .send(markdownOf(text, metadataOf(text), row.url));
  });
}
