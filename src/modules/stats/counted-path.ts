// What a request is counted under: its path as received — without the query string, not
// percent-decoded (`/api/%41/` and `/api/A/` count apart: decoding would merge paths the client
// sent differently and could fail on malformed escapes), without any other normalisation.
// Very long paths are bounded by the counters themselves (infra/counters/bounded-key.ts).
export function countedPath(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
