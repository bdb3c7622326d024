// Starts a whole Workyard in the test process, on a free port with its own data directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BuildOptions, type Workyard, buildWorkyard } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

export interface TestWorkyard {
  workyard: Workyard;
  baseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestWorkyard(env: Record<string, string | undefined> = {}, options: BuildOptions = {}): Promise<TestWorkyard> {
  const dataDir = env.WORKYARD_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-test-'));
  // The feedback forms' spam rules and per-address limit are off unless a test turns them on
  // (spam.test.ts, test/browser/feedback-spam.test.ts): tests post forms at machine speed, from one address.
  const config = loadConfig({
    WORKYARD_PORT: '0',
    WORKYARD_LOG_LEVEL: 'silent',
    WORKYARD_SHUTDOWN_TIMEOUT_MS: '2000',
    WORKYARD_FORM_MIN_FILL_MS: '0',
    WORKYARD_FORM_RATE_LIMIT: '0',
    // Harvest's pause between two requests to one host (250 ms by default) is off too, unless a
    // test turns it on (harvest/politeness.test.ts): fixture sites serve dozens of images from one host.
    WORKYARD_HARVEST_HOST_DELAY_MS: '0',
    ...env,
    WORKYARD_DATA_DIR: dataDir,
  });
  const workyard = await buildWorkyard(config, { logger: createLogger(config.logLevel), ...options });
  const address = await workyard.start();
  return {
    workyard,
    baseUrl: address ?? '',
    dataDir,
    async close() {
      await workyard.close();
    },
  };
}
