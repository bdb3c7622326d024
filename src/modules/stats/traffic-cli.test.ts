import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readStats, startStatsWorkyard } from '../../../test/support/stats.js';
import { parseTrafficArguments } from './traffic-cli.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Runs `workyard traffic …` from the sources, as `npx tsx src/main.ts` would. */
function workyard(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, env: { ...process.env, WORKYARD_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('workyard traffic arguments', () => {
  it('reads N and the base URL, defaulting to this machine on the configured port', () => {
    expect(parseTrafficArguments(['250'], 8080)).toEqual({ n: 250, baseUrl: 'http://127.0.0.1:8080' });
    expect(parseTrafficArguments(['1', '--base-url', 'http://[::1]:9000/x'], 8080)).toEqual({ n: 1, baseUrl: 'http://[::1]:9000' });
    expect(parseTrafficArguments(['--base-url=http://localhost:81', '1000000'], 8080)).toEqual({ n: 1_000_000, baseUrl: 'http://localhost:81' });
  });

  it('refuses a bad N, unknown options and non-loopback URLs, naming what is wrong', () => {
    for (const [args, field] of [
      [[], 'N'],
      [['0'], 'N'],
      [['1000001'], 'N'],
      [['12abc'], 'N'],
      [['1e3'], 'N'],
      [['5', '6'], '6'],
      [['5', '--fast'], '--fast'],
      [['5', '--base-url'], 'base-url'],
      [['5', '--base-url', 'http://example.com'], '--base-url'],
      [['5', '--base-url', 'http://10.0.0.1:8080'], '--base-url'],
    ] as [string[], string][]) {
      expect(() => parseTrafficArguments(args, 8080), args.join(' ')).toThrow(expect.objectContaining({ details: { field } }));
    }
  });
});

describe('workyard traffic against a running Workyard', () => {
  const wy = suiteWorkyard(() => startStatsWorkyard());

  it('sends N requests, draws its progress bar on stderr and prints the summary on stdout', { timeout: 90_000 }, async () => {
    await wy.workyard.app.inject({ method: 'DELETE', url: '/stats/' });
    const { code, stdout, stderr } = await workyard(['traffic', '300', '--base-url', wy.baseUrl]);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ n: 300, ok: 300, failed: 0 });
    expect(stderr).toMatch(/300\/300/);
    const stats = await readStats(wy);
    expect(stats.paths.filter((p) => p.path.startsWith('/api/')).reduce((sum, p) => sum + p.count, 0)).toBe(300);
  });

  it('refuses a base URL that is not loopback, with exit code 2 and no request sent', { timeout: 90_000 }, async () => {
    const { code, stdout, stderr } = await workyard(['traffic', '5', '--base-url', 'http://192.0.2.10:8080']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/loopback/);
  });
});
