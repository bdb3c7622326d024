// `workyard traffic N [--base-url URL]`: a traffic run from the command line against a running
// Workyard, with a progress bar on stderr and the summary as JSON on stdout. Loopback only.
import cliProgress from 'cli-progress';
import { loadConfig } from '../../config.js';
import { AppError } from '../../errors.js';
import { loopbackOrigin } from './loopback.js';
import { MAX_TRAFFIC_REQUESTS, runTraffic } from './traffic.js';

export const TRAFFIC_USAGE = `usage: workyard traffic N [--base-url URL]

  Sends N GET requests (1 to ${MAX_TRAFFIC_REQUESTS.toLocaleString('en')}) to /api/… of a running Workyard and prints a summary.
  --base-url  where it runs (default http://127.0.0.1:$WORKYARD_PORT); loopback addresses only`;

export interface TrafficArguments {
  n: number;
  baseUrl: string;
}

/** Parses the command's arguments; throws an AppError naming the bad one. */
export function parseTrafficArguments(args: string[], defaultPort: number): TrafficArguments {
  let nText: string | undefined;
  let baseUrl: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--base-url') {
      if (args[i + 1] === undefined) throw new AppError('validation_failed', '--base-url needs a URL', { field: 'base-url' });
      baseUrl = args[++i];
    } else if (arg.startsWith('--base-url=')) baseUrl = arg.slice('--base-url='.length);
    else if (arg.startsWith('-')) throw new AppError('validation_failed', `unknown option ${arg}`, { field: arg });
    else if (nText === undefined) nText = arg;
    else throw new AppError('validation_failed', `unexpected argument ${arg}`, { field: arg });
  }
  if (nText === undefined) throw new AppError('validation_failed', 'N is missing', { field: 'N' });
  const n = Number(nText);
  if (!/^\d+$/.test(nText) || n < 1 || n > MAX_TRAFFIC_REQUESTS) {
    throw new AppError('validation_failed', `N must be a whole number from 1 to ${MAX_TRAFFIC_REQUESTS}, not ${nText}`, { field: 'N' });
  }
  return { n, baseUrl: loopbackOrigin(baseUrl ?? `http://127.0.0.1:${defaultPort}`, '--base-url') };
}

export async function trafficCommand(args: string[]): Promise<void> {
  let parsed: TrafficArguments;
  try {
    parsed = parseTrafficArguments(args, loadConfig().port);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    console.error(`workyard traffic: ${error.message}\n\n${TRAFFIC_USAGE}`);
    process.exit(2);
  }
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {value}/{total} | ok {ok} failed {failed} | {rate} req/s',
      stream: process.stderr,
      hideCursor: true,
      // Piped into a log, the bar still says how far the run got: one line a second.
      noTTYOutput: true,
      notTTYSchedule: 1_000,
    },
    cliProgress.Presets.shades_classic,
  );
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  const started = performance.now();
  bar.start(parsed.n, 0, { ok: 0, failed: 0, rate: 0 });
  try {
    const summary = await runTraffic({
      ...parsed,
      signal: abort.signal,
      progressEveryMs: 100,
      onProgress: (p) => bar.update(p.ok + p.failed, { ok: p.ok, failed: p.failed, rate: Math.round((p.ok + p.failed) / ((performance.now() - started) / 1000)) }),
    });
    bar.stop();
    console.log(JSON.stringify(summary, null, 2));
    if (summary.failed > 0) process.exitCode = 1;
  } catch (error) {
    bar.stop();
    throw error;
  } finally {
    process.off('SIGINT', stop);
  }
}
