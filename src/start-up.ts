// What stops Workyard from starting, told in one line that names the cause and the setting to
// change: the data directory (checked before anything opens it) and the address it listens on.
// The stack trace is for the debug log only; a person needs the cause and what to do.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';

export class StartUpError extends Error {
  override readonly name = 'StartUpError';
}

const NO_PERMISSION = new Set(['EACCES', 'EPERM', 'EROFS']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The data directory holds the SQLite file and the disk blobs: it must be a directory this process
 * can write. Not checked when neither lives there (PostgreSQL and S3), so a read-only image runs.
 */
export function checkDataDir(config: Config): void {
  if (config.databaseUrl && config.s3) return;
  const dir = config.dataDir;
  const fix = 'set WORKYARD_DATA_DIR to a directory this process can write';
  const fail = (cause: string, error?: unknown) => {
    throw new StartUpError(`the data directory ${dir} ${cause}: ${fix}`, { cause: error });
  };
  try {
    if (!fs.statSync(dir).isDirectory()) fail('is a file, not a directory');
  } catch (error) {
    if (error instanceof StartUpError) throw error;
    const code = codeOf(error);
    if (code === 'ENOTDIR') fail('cannot exist: a part of its path is a file', error);
    if (code !== 'ENOENT') fail(`cannot be read (${code ?? String(error)})`, error);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (mkdirError) {
      const mkdirCode = codeOf(mkdirError);
      if (mkdirCode === 'ENOTDIR' || mkdirCode === 'EEXIST') fail('cannot be created: a part of its path is a file', mkdirError);
      if (mkdirCode && NO_PERMISSION.has(mkdirCode)) fail(`cannot be created: permission denied (${mkdirCode})`, mkdirError);
      fail(`cannot be created (${mkdirCode ?? String(mkdirError)})`, mkdirError);
    }
  }
  // Permission bits say little (root passes them, a read-only mount does not show in them): write.
  const probe = path.join(dir, `.workyard-write-check-${process.pid}`);
  try {
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
  } catch (error) {
    const code = codeOf(error);
    const who = typeof process.getuid === 'function' ? ` by this process (uid ${process.getuid()})` : '';
    if (code && NO_PERMISSION.has(code)) fail(`is not writable${who} (${code})`, error);
    if (code === 'ENOSPC') fail('is on a full disk (ENOSPC)', error);
    fail(`cannot be written (${code ?? String(error)})`, error);
  }
}

/** One line for an error from listening, or null when it is not one a setting can fix. */
export function listenProblem(error: unknown, config: Config, workerOnly: boolean): string | null {
  const code = codeOf(error);
  const port = workerOnly ? config.workerPort : config.port;
  const setting = workerOnly ? 'WORKYARD_WORKER_PORT' : 'WORKYARD_PORT';
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} on ${config.host} is already in use (another Workyard or another program): set ${setting} to a free port, or stop the other program`;
    case 'EACCES':
      return `this process may not listen on port ${port}: set ${setting} to a port from 1024 up`;
    case 'EADDRNOTAVAIL':
      return `${config.host} is not an address of this machine: set WORKYARD_HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for all)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name ${config.host} does not resolve: set WORKYARD_HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for all)`;
    default:
      return null;
  }
}
