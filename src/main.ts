#!/usr/bin/env node
// The workyard command: start | serve | worker | migrate (and module commands such as traffic).
import { readFileSync } from 'node:fs';
import { buildWorkyard } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

const USAGE = `usage: workyard <command>   (workyard --version: the version)

  start     API and workers in one process (what npm start runs)
  serve     API only
  worker    workers only
  migrate   create or update the database tables, then exit
  traffic   N [--base-url URL]: send N test GET requests to a running Workyard (loopback only)

Configuration comes from WORKYARD_* environment variables (see the README).`;

type Command = (args: string[]) => Promise<void>;

async function runService(api: boolean, worker: boolean): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const workyard = await buildWorkyard(config, { api, worker, logger: log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownTimeoutMs }, 'shutting down');
    workyard.close().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const address = await workyard.start();
  log.info({ address, shape: workyard.ctx.shape, drivers: workyard.ctx.drivers, api, worker }, address ? `Workyard listening on ${address}` : 'Workyard worker running');
}

const commands: Record<string, Command> = {
  start: () => runService(true, true),
  serve: () => runService(true, false),
  worker: () => runService(false, true),
  async migrate() {
    const config = loadConfig();
    const workyard = await buildWorkyard(config, { api: false, worker: false, logger: createLogger(config.logLevel) });
    await workyard.close();
    console.log('migrations are up to date');
  },
  // Loaded on use: the server commands do not need the progress bar.
  traffic: async (args) => (await import('./modules/stats/traffic-cli.js')).trafficCommand(args),
};

/** The version of the package.json one level above this file: the repo's from src/, the package's from dist/. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  const [name = 'start', ...args] = argv;
  if (name === '--help' || name === '-h' || name === 'help') return void console.log(USAGE);
  if (name === '--version' || name === '-v') return void console.log(packageVersion());
  const command = commands[name];
  if (!command) {
    console.error(`unknown command: ${name}\n\n${USAGE}`);
    process.exit(2);
  }
  try {
    await command(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`workyard: ${error.message}`);
      process.exit(2);
    }
    console.error('workyard: failed to start:', error instanceof Error ? error.stack : error);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
