// The stats reports: paths ranked all-time (the seed's answer, unchanged) or over a time range,
// and the time series of one path or of all.
import { Type } from 'typebox';
import type { App, AppContext } from '../../app-context.js';
import { ErrorReply, validationError } from '../../errors.js';
import type { BucketUnit } from '../../infra/counters/buckets.js';
import { boundedKey } from '../../infra/counters/bounded-key.js';
import { ALL_KEYS } from '../../infra/counters/contract.js';
import { type PathView, isPlainView, viewPage } from './path-views.js';
import { routeFolder } from './route-pattern.js';
import { INSTANT_DESCRIPTION, checkPoints, parseRange } from './time-range.js';

const Instant = (description: string) => Type.Optional(Type.String({ maxLength: 64, description: `${description}: ${INSTANT_DESCRIPTION}` }));

const StatsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'paths per page' })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0, description: 'paths to skip' })),
    from: Instant('counts from the minute of this instant; absent: all-time counts'),
    to: Instant('counts until this instant, its minute included (default now)'),
    group: Type.Optional(Type.Literal('route', { description: 'fold paths by route pattern: numbers, UUIDs, long hex and dates become :id, plus WORKYARD_STATS_PATTERNS' })),
    exclude: Type.Optional(Type.Union([Type.Literal('probes'), Type.Literal('bots')], { description: 'probes: leave out /healthz, /readyz and /metrics; bots: leave out requests of bots by their user agent (the isbot list; needs from)' })),
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 1_024, pattern: '^/', description: 'only paths that start with this' })),
  },
  { additionalProperties: false },
);

const StatsView = Type.Object({
  total_requests: Type.Integer(),
  unique_paths: Type.Integer(),
  unique_visitors: Type.Optional(Type.Integer({ description: 'estimated distinct visitors of every path (with from)' })),
  partial: Type.Optional(Type.Boolean({ description: 'a grouped or filtered view walked only the most counted paths' })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  paths: Type.Array(Type.Object({ path: Type.String(), count: Type.Integer(), unique_visitors: Type.Optional(Type.Integer()) })),
});

const SeriesQuery = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 8_192, description: 'one counted path; absent: every path' })),
    from: Instant('the series starts at the bucket of this instant (default -24h)'),
    to: Instant('the series ends before this instant (default now)'),
    interval: Type.Optional(Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], { default: 'hour', description: 'bucket size: minutes are kept 48 h, hours 90 days, days forever (or WORKYARD_STATS_RETENTION_DAYS)' })),
  },
  { additionalProperties: false },
);

const SeriesView = Type.Object({
  path: Type.Union([Type.String(), Type.Null()]),
  interval: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  points: Type.Array(Type.Object({ t: Type.String({ format: 'date-time' }), count: Type.Integer(), unique_visitors: Type.Integer() })),
});

const iso = (at: number) => new Date(at).toISOString();

export function reportRoutes(app: App, ctx: AppContext): void {
  const fold = routeFolder(ctx.config.stats.patterns);
  app.get('/stats/', {
    schema: {
      tags: ['stats'],
      summary: 'Requests counted per URL path (query strings ignored), most requested first, ties by path; all-time, or over from–to with unique visitors',
      querystring: StatsQuery,
      response: { 200: StatsView, 400: ErrorReply, 503: ErrorReply },
    },
  }, async (request) => {
    const { limit = 100, offset = 0, group, exclude, prefix } = request.query;
    const range = parseRange(request.query, Date.now());
    const view: PathView = { fold: group === 'route' ? fold : undefined, prefix, excludeProbes: exclude === 'probes', excludeBots: exclude === 'bots' };
    // all-time counts keep no bot split (the seed's raw count counts everything): bots are told apart in buckets
    if (view.excludeBots && !range) throw validationError('from', 'from: exclude=bots needs a range (bots are counted apart per bucket, not all-time)');
    const plain = isPlainView(view);
    const page = plain ? { ...(await ctx.counters.top({ limit, offset, range })), partial: false } : await viewPage(ctx.counters, { limit, offset, range }, view);
    const paths = page.entries.map((entry) => ({ path: entry.key, count: entry.count }));
    const partial = page.partial ? { partial: true } : {};
    // the seed's all-time answer keeps its exact shape; a ranged or filtered one adds the visitors
    if (!range && plain) return { total_requests: page.total, unique_paths: page.unique, paths };
    const visitors = await ctx.counters.visitors(view.fold ? [ALL_KEYS] : [...paths.map((p) => p.path), ALL_KEYS], range);
    // a route pattern is not a counted key: its visitors are the union of its paths' (a visitor of two ids counts once)
    const members = 'members' in page ? page.members : undefined;
    const unions = members ? await ctx.counters.unionVisitors(paths.map((p) => members.get(p.path) ?? []), range) : [];
    return {
      total_requests: page.total,
      unique_paths: page.unique,
      unique_visitors: visitors.get(ALL_KEYS) ?? 0,
      ...partial,
      ...(range ? { from: iso(range.from), to: iso(range.to) } : {}),
      paths: paths.map((p, i) => ({ ...p, unique_visitors: members ? unions[i] : (visitors.get(p.path) ?? 0) })),
    };
  });

  app.get('/stats/timeseries', {
    schema: {
      tags: ['stats'],
      summary: 'Requests and unique visitors per minute, hour or day of one path (or of every path), one point per bucket, zero-filled',
      querystring: SeriesQuery,
      response: { 200: SeriesView, 400: ErrorReply, 503: ErrorReply },
    },
  }, async (request) => {
    const unit: BucketUnit = request.query.interval ?? 'hour';
    const range = parseRange(request.query, Date.now(), '-24h')!;
    checkPoints(unit, range);
    const points = await ctx.counters.series({ key: request.query.path === undefined ? undefined : boundedKey(request.query.path), unit, range });
    return {
      path: request.query.path ?? null,
      interval: unit,
      from: iso(range.from),
      to: iso(range.to),
      points: points.map((p) => ({ t: iso(p.start), count: p.count, unique_visitors: p.unique_visitors })),
    };
  });
}
