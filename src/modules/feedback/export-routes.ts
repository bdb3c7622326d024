// The admin's export: every saved post as CSV (RFC 4180) or NDJSON, streamed from the database in
// keyset batches, so that 100,000 rows cost the memory of one batch. CSV cells that a spreadsheet
// would run as a formula (starting with = + - @, a tab or a carriage return) are prefixed with '
// (OWASP's CSV injection advice); ?bom=true starts the file with a UTF-8 BOM, which Excel needs to
// read it as UTF-8.
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, validationError } from '../../errors.js';
import { csvCell } from '../../http/csv.js';
import type { FeedbackService } from './service.js';
import type { ExportFilter, StoredFeedback } from './store.js';

const BATCH = 1_000;
const COLUMNS = ['id', 'created_at', 'name', 'email', 'rating', 'message', 'via', 'spam'] as const;

const ExportQuery = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time', description: 'posts submitted at or after this time (RFC 3339)' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'posts submitted before this time (RFC 3339)' })),
  spam: Type.Union([Type.Literal('false'), Type.Literal('true'), Type.Literal('all')], { default: 'false', description: 'false: what the page lists; true: what the spam rules marked; all: both' }),
  bom: Type.Boolean({ default: false, description: 'CSV only: start with a UTF-8 byte order mark (for spreadsheets)' }),
});
type ExportQueryValue = { since?: string; until?: string; spam: ExportFilter['spam']; bom: boolean };

// the stats export writes CSV too: one cell rule for both (src/http/csv.ts)
export { csvCell };

function csvLine(row: StoredFeedback): string {
  const record: Record<(typeof COLUMNS)[number], string | number | null> = { ...row, created_at: new Date(row.created_at).toISOString(), spam: row.spam ? 'true' : 'false' };
  return `${COLUMNS.map((column) => csvCell(record[column])).join(',')}\r\n`;
}

function ndjsonLine(row: StoredFeedback): string {
  return `${JSON.stringify({ ...row, created_at: new Date(row.created_at).toISOString(), spam: Boolean(row.spam) })}\n`;
}

/**
 * The lines, batch after batch. The first batch is read before the answer starts (`first`), so
 * that a database that is down is a 503, not a 200 cut short.
 */
async function* exportLines(service: FeedbackService, filter: ExportFilter, first: StoredFeedback[], line: (row: StoredFeedback) => string): AsyncGenerator<string> {
  let rows = first;
  for (;;) {
    // one chunk a batch: a write per row would cost more than the query
    if (rows.length) yield rows.map(line).join('');
    if (rows.length < BATCH) return;
    rows = await service.store.exportBatch(filter, rows[rows.length - 1], BATCH);
  }
}

function filterOf(query: ExportQueryValue): ExportFilter {
  const since = query.since === undefined ? undefined : Date.parse(query.since);
  const until = query.until === undefined ? undefined : Date.parse(query.until);
  if (since !== undefined && until !== undefined && until <= since) throw validationError('until', 'must be later than since');
  return { since, until, spam: query.spam };
}

export function feedbackExportRoutes(app: App, service: FeedbackService, ctx: AppContext): void {
  const schema = (format: string) => ({
    tags: ['feedback'],
    summary: `Every saved post as ${format}, oldest first, streamed (admin)`,
    querystring: ExportQuery,
    response: { 400: ErrorReply, 401: ErrorReply, 503: ErrorReply },
  });

  app.get('/feedback/export.csv', { preValidation: ctx.requireAdmin, schema: schema('CSV (RFC 4180, UTF-8)') }, async (request, reply) => {
    const query = request.query as ExportQueryValue;
    const filter = filterOf(query);
    const first = await service.store.exportBatch(filter, null, BATCH);
    const header = `${query.bom ? '\uFEFF' : ''}${COLUMNS.join(',')}\r\n`;
    async function* csv() {
      yield header;
      yield* exportLines(service, filter, first, csvLine);
    }
    return reply
      .type('text/csv; charset=utf-8; header=present')
      .header('content-disposition', 'attachment; filename="feedback.csv"')
      .header('cache-control', 'no-store')
      .send(Readable.from(csv()));
  });

  app.get('/feedback/export.ndjson', { preValidation: ctx.requireAdmin, schema: schema('NDJSON (one JSON object a line)') }, async (request, reply) => {
    const filter = filterOf(request.query as ExportQueryValue);
    const first = await service.store.exportBatch(filter, null, BATCH);
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', 'attachment; filename="feedback.ndjson"')
      .header('cache-control', 'no-store')
      .send(Readable.from(exportLines(service, filter, first, ndjsonLine)));
  });
}
