// The deploy files checked without Docker: deploy/docker-compose.yml parses (YAML merge keys and
// ${VAR:-default} as compose reads them); every WORKYARD_* variable a Workyard service sets is one
// src/config.ts reads, and loadConfig accepts the service's whole environment; its command is a
// workyard command; the build context, Dockerfile and mounted files exist; the nginx config it
// mounts passes `nginx -t` (Debian's nginx). Compose service names do not resolve here, so the
// check writes a copy of the config with each upstream host that is a compose service rewritten to
// 127.0.0.1 (an upstream host that is not a service fails the check: it would not resolve there
// either).
//
//   tsx scripts/release/deploy-check.ts [--compose deploy/docker-compose.yml]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { findNginx } from '../cluster/nginx.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const WORKYARD_COMMANDS = ['start', 'serve', 'worker', 'migrate'];

interface ComposeService {
  build?: { context?: string; dockerfile?: string } | string;
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR, $$ (with env as the shell's). */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced, operator, fallback, bare) => {
    if (match === '$$') return '$';
    const name = braced ?? bare;
    const set = env[name];
    if (operator === ':-') return set ? set : fallback;
    if (operator === '-') return set !== undefined ? set : fallback;
    return set ?? '';
  });
}

function environmentOf(service: ComposeService): Record<string, string> {
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw) ? raw.map((item) => item.split(/=(.*)/s).slice(0, 2)) : Object.entries(raw).map(([name, value]) => [name, value === null ? '' : String(value)]);
  return Object.fromEntries(entries.map(([name, value]) => [name, interpolate(value ?? '', {})]));
}

/** The variable names src/config.ts reads. */
export function configVariables(configSource: string): Set<string> {
  return new Set([...configSource.matchAll(/'(WORKYARD_[A-Z0-9_]+)'/g)].map((match) => match[1]));
}

export function checkCompose(composePath: string, configSource: string): { problems: string[]; checked: string[]; services: Record<string, ComposeService> } {
  const problems: string[] = [];
  const checked: string[] = [];
  const compose = parseYaml(fs.readFileSync(composePath, 'utf8'), { merge: true }) as { services?: Record<string, ComposeService> };
  const services = compose?.services ?? {};
  if (Object.keys(services).length === 0) return { problems: [`${composePath}: no services`], checked, services };
  checked.push(`${path.relative(REPO, composePath)} parses: ${Object.keys(services).length} services (${Object.keys(services).join(', ')})`);
  const known = configVariables(configSource);
  const composeDir = path.dirname(composePath);
  for (const [name, service] of Object.entries(services)) {
    const env = environmentOf(service);
    const workyardVariables = Object.keys(env).filter((variable) => variable.startsWith('WORKYARD_'));
    if (service.build) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      const context = path.resolve(composeDir, build.context ?? '.');
      const dockerfile = path.resolve(context, build.dockerfile ?? 'Dockerfile');
      if (!fs.existsSync(dockerfile)) problems.push(`${name}: build.dockerfile ${path.relative(REPO, dockerfile)} does not exist`);
    }
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0];
      if ((source.startsWith('.') || source.startsWith('/')) && !fs.existsSync(path.resolve(composeDir, source))) problems.push(`${name}: the volume source ${source} does not exist`);
    }
    if (workyardVariables.length === 0) continue;
    const unknown = workyardVariables.filter((variable) => !known.has(variable));
    if (unknown.length > 0) problems.push(`${name}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not read by src/config.ts`);
    try {
      loadConfig(env);
    } catch (error) {
      problems.push(`${name}: loadConfig refuses its environment: ${error instanceof ConfigError ? error.message : error}`);
    }
    const command = typeof service.command === 'string' ? service.command.split(/\s+/) : (service.command ?? []);
    if (!WORKYARD_COMMANDS.includes(command[0] ?? 'start')) problems.push(`${name}: command ${JSON.stringify(command)} is not a workyard command (${WORKYARD_COMMANDS.join(', ')})`);
    checked.push(`${name} (${command.join(' ') || 'start'}): ${workyardVariables.length} WORKYARD_* variables, all read by src/config.ts and valid there`);
  }
  return { problems, checked, services };
}

/** The nginx config with each upstream `server host:port` whose host is a compose service pointed at 127.0.0.1. */
export function nginxConfigForLoopback(config: string, serviceNames: string[]): { config: string; rewritten: string[]; unknown: string[] } {
  const rewritten: string[] = [];
  const unknown: string[] = [];
  const rewrittenConfig = config.replace(/upstream\s+[\w.-]+\s*\{[^}]*\}/g, (block) =>
    block.replace(/(\bserver\s+)([A-Za-z0-9_.-]+)(:\d+)?/g, (match, keyword, host, port = '') => {
      if (serviceNames.includes(host)) {
        rewritten.push(host);
        return `${keyword}127.0.0.1${port}`;
      }
      if (!/^[\d.]+$/.test(host) && host !== 'localhost') unknown.push(host);
      return match;
    }),
  );
  return { config: rewrittenConfig, rewritten, unknown };
}

export function nginxTest(nginx: string, configText: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-nginx-t-'));
  try {
    fs.writeFileSync(path.join(dir, 'nginx.conf'), configText);
    const result = spawnSync(nginx, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', `pid ${path.join(dir, 'nginx.pid')};`], { encoding: 'utf8', timeout: 30_000 });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseArgs({ options: { compose: { type: 'string', default: path.join(REPO, 'deploy/docker-compose.yml') } } });
  const composePath = path.resolve(values.compose!);
  const { problems, checked, services } = checkCompose(composePath, fs.readFileSync(path.join(REPO, 'src/config.ts'), 'utf8'));
  const nginx = findNginx();
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':');
      if (!target?.startsWith('/etc/nginx/') || !source.endsWith('.conf')) continue;
      const file = path.resolve(path.dirname(composePath), source);
      if (!fs.existsSync(file)) continue;
      if (!nginx) {
        problems.push('nginx is not installed (apt-get install nginx-light): the nginx config cannot be tested');
        continue;
      }
      const loopback = nginxConfigForLoopback(fs.readFileSync(file, 'utf8'), Object.keys(services));
      if (loopback.unknown.length > 0) problems.push(`${name}: upstream hosts ${loopback.unknown.join(', ')} are not compose services`);
      const result = nginxTest(nginx, loopback.config);
      if (!result.ok) problems.push(`${name}: nginx -t refuses ${source} (upstreams ${loopback.rewritten.join(', ')} → 127.0.0.1):\n${result.output}`);
      else checked.push(`${name}: nginx -t accepts ${source} (${nginx}; upstreams ${loopback.rewritten.join(', ')} → 127.0.0.1)`);
    }
  }
  for (const line of checked) console.log(`  ✓ ${line}`);
  if (problems.length > 0) {
    console.error(`deploy check FAILED:\n${problems.map((problem) => `  ✗ ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`deploy check passed: ${checked.length} checks`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
