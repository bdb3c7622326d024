// What the stats tests share: a Workyard with only the modules they need, and readers of /stats/.
import fs from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { startTestWorkyard, type TestWorkyard } from './workyard.js';
import { tasksModule } from '../../src/modules/tasks/index.js';
import { statsModule } from '../../src/modules/stats/index.js';

export async function startStatsWorkyard(env: Record<string, string | undefined> = {}): Promise<TestWorkyard> {
  const wy = await startTestWorkyard(env, { modules: [tasksModule, statsModule] });
  return {
    ...wy,
    async close() {
      await wy.close();
      // a data directory the test named is the test's to remove; one made here goes with the app
      if (!env.WORKYARD_DATA_DIR) fs.rmSync(wy.dataDir, { recursive: true, force: true });
    },
  };
}

export interface StatsBody {
  total_requests: number;
  unique_paths: number;
  paths: { path: string; count: number }[];
}

export async function readStats(wy: TestWorkyard, query = 'limit=10000'): Promise<StatsBody> {
  const res: LightMyRequestResponse = await wy.workyard.app.inject({ url: `/stats/?${query}` });
  if (res.statusCode !== 200) throw new Error(`/stats/ answered ${res.statusCode}: ${res.body}`);
  return res.json();
}

export const countOf = (stats: StatsBody, path: string) => stats.paths.find((p) => p.path === path)?.count ?? 0;
