// What every operator command shares: where it writes, how it reads its options (node:util
// parseArgs), and how it finds the server (--url, WORKYARD_URL, WORKYARD_PORT) and its key.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { ConfigError, loadClientConfig } from '../config.js';
import { ApiClient, CliError } from './api-client.js';

/** Where a command writes and what environment it reads: the process's, or a test's. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

export const processIo = (): CliIo => ({ out: process.stdout, err: process.stderr, env: process.env });

export const writeLine = (stream: NodeJS.WritableStream, text = '') => void stream.write(`${text}\n`);

/** The options every command takes. */
export const COMMON_OPTIONS = {
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

export const URL_HELP = `  --url URL   the server (default: WORKYARD_URL, else http://127.0.0.1:$WORKYARD_PORT, port 8080)
  The API key is read from WORKYARD_API_KEY.`;

/** parseArgs with the command's usage in its errors (exit 2), positionals allowed. */
export function parseCommandLine<const Options extends ParseArgsOptionsConfig>(args: string[], options: Options, usage: string) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${usage}`, 2);
  }
}

/** The client for --url, or the server the environment names. */
export function clientFor(url: string | undefined, io: CliIo): ApiClient {
  let config;
  try {
    config = loadClientConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
  return new ApiClient(url ?? config.url, config.apiKey);
}

/** Runs a command, reporting a CliError in one line under the command's name; the exit code. */
export async function runCommand(name: string, io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    writeLine(io.err, `workyard ${name}: ${error.message}`);
    return error.exitCode;
  }
}

/** Exactly `count` positionals, or a usage error naming what is missing or extra. */
export function expectPositionals(positionals: string[], names: string[], usage: string): string[] {
  if (positionals.length < names.length) throw new CliError(`${names[positionals.length]} is missing\n\n${usage}`, 2);
  if (positionals.length > names.length) throw new CliError(`unexpected argument ${positionals[names.length]}\n\n${usage}`, 2);
  return positionals;
}

/** Stops `controller` on Ctrl-C while `run` runs, so that a follow or watch ends cleanly (exit 130). */
export async function untilInterrupted(controller: AbortController, run: () => Promise<number>): Promise<number> {
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    const code = await run();
    return controller.signal.aborted ? 130 : code;
  } finally {
    process.off('SIGINT', interrupt);
  }
}
