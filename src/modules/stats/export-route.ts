// GET /stats/export.csv: every bucket row of a range (bucket start, path, count), streamed page
// after page from the counters, so a day of a million paths costs the memory of one page. The
// first page is read before the answer starts: a store that is down is a 503, not a 200 cut short.
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply } from '../../errors.js';
import { csvCell } from '../../http/csv.js';
import type { BucketUnit } from '../../infra/counters/buckets.js';
import type { BucketRow, TimeRange } from '../../infra/counters/contract.js';
import { INSTANT_DESCRIPTION, parseRange } from './time-range.js';

const PAGE = 5_000;

const ExportQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ maxLength: 64, description: `rows from the bucket of this instant (default -24h): ${INSTANT_DESCRIPTION}` })),
    to: Type.Optional(Type.String({ maxLength: 64, description: `rows of buckets before this instant (default now): ${INSTANT_DESCRIPTION}` })),
    interval: Type.Optional(Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], { default: 'hour', description: 'bucket size' })),
  },
  { additionalProperties: false },
);

const line = (row: BucketRow) => `${new Date(row.start).toISOString()},${csvCell(row.key)},${row.count}\r\n`;

export function exportRoute(app: App, ctx: AppContext): void {
  app.get('/stats/export.csv', {
    schema: {
      tags: ['stats'],
      summary: 'Counts per bucket and path over a range as CSV (bucket_start, path, count), oldest bucket first, streamed',
      querystring: ExportQuery,
      response: { 400: ErrorReply, 503: ErrorReply },
    },
  }, async (request, reply) => {
    const unit: BucketUnit = request.query.interval ?? 'hour';
    const range = parseRange(request.query, Date.now(), '-24h')!;
    const first = await ctx.counters.exportPage({ unit, range, limit: PAGE });
    async function* csv() {
      yield 'bucket_start,path,count\r\n';
      yield* pages(ctx, unit, range, first);
    }
    return reply.type('text/csv; charset=utf-8; header=present').header('content-disposition', `attachment; filename="stats-${unit}.csv"`).send(Readable.from(csv()));
  });
}

async function* pages(ctx: AppContext, unit: BucketUnit, range: TimeRange, first: { rows: BucketRow[]; cursor: string | null }): AsyncGenerator<string> {
  let page = first;
  for (;;) {
    // one chunk a page: a write per row would cost more than the read
    if (page.rows.length) yield page.rows.map(line).join('');
    if (page.cursor === null) return;
    page = await ctx.counters.exportPage({ unit, range, cursor: page.cursor, limit: PAGE });
  }
}
