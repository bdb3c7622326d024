// nginx as the cluster's load balancer: a config generated into a temporary directory, round
// robin over the API processes, run in the foreground as a child of the cluster script.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const NGINX_BINARIES = ['/usr/sbin/nginx', '/usr/bin/nginx'];

export function findNginx(): string | null {
  return NGINX_BINARIES.find((file) => fs.existsSync(file)) ?? null;
}

export function nginxConfig(options: { port: number; upstreams: string[]; dir: string }): string {
  const temp = (name: string) => path.join(options.dir, name);
  // Running as root, nginx's workers would switch to `nobody`; they only need the temp dirs.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  return `${user}
worker_processes 1;
daemon off;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  upstream workyard_api {
${options.upstreams.map((u) => `    server ${u} max_fails=0;`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${options.port};
    # Workyard applies its own body limits per route (blobs go up to 5 GiB).
    client_max_body_size 0;
    location / {
      proxy_pass http://workyard_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      # Streams: blob bodies pass through unbuffered, server-sent events reach the client at once.
      proxy_request_buffering off;
      proxy_buffering off;
      # /sync/... may wait for a worker up to WORKYARD_SYNC_TIMEOUT_MS.
      proxy_read_timeout 120s;
      proxy_send_timeout 120s;
    }
  }
}
`;
}

export function startNginx(binary: string, dir: string, config: string): ChildProcess {
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, config);
  return spawn(binary, ['-p', dir, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}
