// ?group=route: paths folded by pattern. The operator's patterns (WORKYARD_STATS_PATTERNS, a
// `:name` segment standing for any one segment) come first; then every segment that is a number,
// a UUID, a long hex string or a date becomes `:id`. Raw counts are kept; this is only a view.
const ID_SEGMENT = [
  /^\d+$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  // 16+ hex digits with at least one digit: object ids, hashes — not words like "deadbeefcafe…"
  /^(?=[^\d]*\d)[0-9a-f]{16,}$/i,
  /^\d{4}-\d{2}-\d{2}$/,
];

export type RouteFolder = (path: string) => string;

export function routeFolder(patterns: string[]): RouteFolder {
  const declared = patterns.map((pattern) => ({ pattern, segments: pattern.split('/') }));
  return (path) => {
    const segments = path.split('/');
    for (const { pattern, segments: wanted } of declared) {
      if (wanted.length === segments.length && wanted.every((w, i) => (w.startsWith(':') && segments[i] !== '') || w === segments[i])) return pattern;
    }
    return segments.map((segment) => (ID_SEGMENT.some((id) => id.test(segment)) ? ':id' : segment)).join('/');
  };
}

/** What ?exclude=probes leaves out: the load balancer's and Prometheus's requests. */
export const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
