import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findNginx } from '../../scripts/cluster/nginx.js';
import { checkCompose, interpolate, nginxConfigForLoopback, nginxTest } from '../../scripts/release/deploy-check.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const configSource = fs.readFileSync(path.join(REPO, 'src/config.ts'), 'utf8');

function composeFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-compose-'));
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), text);
  return path.join(dir, 'docker-compose.yml');
}

describe('the deploy check', () => {
  it('interpolates as compose does', () => {
    expect(interpolate('${KEY:-change-me}', {})).toBe('change-me');
    expect(interpolate('${KEY:-change-me}', { KEY: 'set' })).toBe('set');
    expect(interpolate('${KEY-x}', { KEY: '' })).toBe('');
    expect(interpolate('a$$b $HOME', { HOME: '/h' })).toBe('a$b /h');
  });

  it('passes our docker-compose.yml', () => {
    const { problems, checked } = checkCompose(path.join(REPO, 'deploy/docker-compose.yml'), configSource);
    expect(problems).toEqual([]);
    expect(checked.filter((line) => /WORKYARD_\* variables/.test(line))).toHaveLength(4);
  });

  it('fails on a variable config.ts does not read, a value it refuses and an unknown command, with merge keys resolved', () => {
    const file = composeFile(`x-env: &env
  WORKYARD_PORTT: "8080"
services:
  api:
    image: workyard
    command: ["serve"]
    environment: { <<: *env, WORKYARD_REDIS_URL: "http://redis:6379" }
  other:
    image: workyard
    command: ["server"]
    environment: ["WORKYARD_LOG_LEVEL=\${LEVEL:-loud}"]
`);
    const { problems } = checkCompose(file, configSource);
    fs.rmSync(path.dirname(file), { recursive: true });
    expect(problems).toEqual([
      'api: WORKYARD_PORTT is not read by src/config.ts',
      expect.stringMatching(/^api: loadConfig refuses its environment: WORKYARD_REDIS_URL="http:\/\/redis:6379" is invalid/),
      expect.stringMatching(/^other: loadConfig refuses its environment: WORKYARD_LOG_LEVEL="loud" is invalid/),
      'other: command ["server"] is not a workyard command (start, serve, worker, migrate)',
    ]);
  });

  it('points upstream compose services at 127.0.0.1 and names hosts that are not services', () => {
    const config = 'http { upstream a { server api-1:8080 max_fails=0; server api-9:80; server 10.0.0.1:80; } server { listen 80; } }';
    const result = nginxConfigForLoopback(config, ['api-1', 'nginx']);
    expect(result.config).toContain('server 127.0.0.1:8080 max_fails=0;');
    expect(result.rewritten).toEqual(['api-1']);
    expect(result.unknown).toEqual(['api-9']);
  });

  it('runs nginx -t for real: our config passes with the services on loopback, fails as written (hosts unresolved) and when broken', () => {
    const nginx = findNginx();
    expect(nginx, 'nginx is needed (apt-get install nginx-light)').not.toBeNull();
    const config = fs.readFileSync(path.join(REPO, 'deploy/nginx.conf'), 'utf8');
    expect(nginxTest(nginx!, nginxConfigForLoopback(config, ['api-1', 'api-2']).config).ok).toBe(true);
    const asWritten = nginxTest(nginx!, config);
    expect(asWritten.ok).toBe(false);
    expect(asWritten.output).toMatch(/host not found in upstream "api-1:8080"/);
    const broken = nginxConfigForLoopback(config.replace('proxy_buffering off;', 'proxy_buffering sometimes;'), ['api-1', 'api-2']).config;
    expect(nginxTest(nginx!, broken).output).toMatch(/invalid value "sometimes"/);
  });
});
