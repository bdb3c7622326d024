// A stand-in for a container without Docker: a directory that holds an image's own files (what
// COPY and RUN put there), run with chroot in a private mount namespace (unshare -m) where the
// machine's /usr (Debian bookworm, as the node:*-bookworm-slim base) is bound read-only and the
// chosen Node.js is bound read-only at /usr/local (where the node images keep it). /etc is a copy
// of the machine's, with the `node` user the node images have. The mounts live only as long as the
// process they were made for, so nothing is left mounted once it exits, and removing the
// directory afterwards cannot reach the machine's files.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { shellQuote } from './dockerfile.js';

/** The PATH Docker gives a container, node images included. */
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageRoot {
  dir: string;
  /** the Node.js install (bin/node, include/node) bound at /usr/local */
  nodeDir: string;
  /** bound at /root/.npm when set: the machine's npm cache, so `npm ci` does not fetch again */
  npmCache?: string;
}

export interface UserIds {
  uid: number;
  gid: number;
  home: string;
}

/** The base image's file system, as far as it is not the machine's own read-only /usr. */
export function createImageRoot(root: ImageRoot): { nodeUserNote: string } {
  fs.mkdirSync(root.dir, { recursive: true });
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) {
    const target = fs.readlinkSync(`/${link}`); // merged /usr: /bin -> usr/bin
    fs.symlinkSync(target, path.join(root.dir, link));
  }
  for (const dir of ['usr', 'dev', 'proc', 'root', 'home', 'run', 'var/tmp', 'var/lib', 'mnt', 'opt', 'srv']) fs.mkdirSync(path.join(root.dir, dir), { recursive: true });
  fs.mkdirSync(path.join(root.dir, 'tmp'), { mode: 0o1777 });
  fs.chmodSync(path.join(root.dir, 'tmp'), 0o1777);
  fs.cpSync('/etc', path.join(root.dir, 'etc'), { recursive: true, verbatimSymlinks: true });
  return { nodeUserNote: addNodeUser(root.dir) };
}

/** The node images have a `node` user (uid 1000 there); it gets the first free uid here. */
function addNodeUser(dir: string): string {
  const passwdPath = path.join(dir, 'etc/passwd');
  const groupPath = path.join(dir, 'etc/group');
  const passwd = fs.readFileSync(passwdPath, 'utf8');
  if (/^node:/m.test(passwd)) return 'the node user exists';
  const group = fs.readFileSync(groupPath, 'utf8');
  const taken = new Set([...passwd.matchAll(/^[^:]*:[^:]*:(\d+):/gm), ...group.matchAll(/^[^:]*:[^:]*:(\d+):/gm)].map((match) => Number(match[1])));
  let id = 1000;
  while (taken.has(id)) id++;
  fs.appendFileSync(passwdPath, `node:x:${id}:${id}::/home/node:/bin/sh\n`);
  fs.appendFileSync(groupPath, `node:x:${id}:\n`);
  fs.mkdirSync(path.join(dir, 'home/node'), { recursive: true });
  fs.chownSync(path.join(dir, 'home/node'), id, id);
  return `created the node user (uid ${id}, as the node images have it)`;
}

/** A USER value (name, uid, name:group) resolved against the image's own /etc. */
export function resolveUser(dir: string, user: string): UserIds {
  const [userPart, groupPart] = user.split(':');
  const entries = fs.readFileSync(path.join(dir, 'etc/passwd'), 'utf8').split('\n').map((line) => line.split(':'));
  const entry = entries.find((fields) => fields[0] === userPart || fields[2] === userPart);
  if (!entry) throw new Error(`USER ${user}: no such user in the image's /etc/passwd`);
  let gid = Number(entry[3]);
  if (groupPart !== undefined) {
    const groups = fs.readFileSync(path.join(dir, 'etc/group'), 'utf8').split('\n').map((line) => line.split(':'));
    const groupEntry = groups.find((fields) => fields[0] === groupPart || fields[2] === groupPart);
    if (!groupEntry) throw new Error(`USER ${user}: no such group in the image's /etc/group`);
    gid = Number(groupEntry[2]);
  }
  return { uid: Number(entry[2]), gid, home: entry[5] };
}

function mountScript(root: ImageRoot): string {
  const r = (sub: string) => shellQuote(path.join(root.dir, sub));
  const lines = [
    'set -e',
    `mount --rbind /usr ${r('usr')}`,
    `mount -o remount,bind,ro ${r('usr')}`,
    `mount --bind ${shellQuote(root.nodeDir)} ${r('usr/local')}`,
    `mount -o remount,bind,ro ${r('usr/local')}`,
    `mount --rbind /dev ${r('dev')}`,
    `mount -t proc proc ${r('proc')}`,
  ];
  if (root.npmCache) lines.push(`mkdir -p ${r('root/.npm')}`, `mount --bind ${shellQuote(root.npmCache)} ${r('root/.npm')}`);
  return lines.join('\n');
}

export interface RunInImage {
  argv: string[];
  cwd: string;
  user: UserIds;
  env: Record<string, string>;
}

/**
 * Starts argv inside the image root as the given user, with exactly env (plus PATH and HOME when
 * env lacks them). Every step execs the next, so the returned process is the command itself and a
 * signal sent to it reaches the command, as `docker stop` does.
 */
export function spawnInImage(root: ImageRoot, run: RunInImage, stdio: 'pipe' | 'inherit' = 'pipe'): ChildProcess {
  const env = { PATH: IMAGE_PATH, HOME: run.user.home, ...run.env };
  const inner = ['env', '-i', ...Object.entries(env).map(([name, value]) => `${name}=${value}`), '/bin/sh', '-c', 'cd "$0" && exec "$@"', run.cwd, ...run.argv];
  const chroot = ['exec', 'chroot', `--userspec=${run.user.uid}:${run.user.gid}`, '--groups=' + run.user.gid, root.dir, ...inner].map(shellQuote).join(' ').replace(/^'exec'/, 'exec');
  // A process group of its own, so that killImageProcesses reaches what it started too (npm's builds).
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', `${mountScript(root)}\n${chroot}`], { stdio, env: {}, detached: true });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

const running = new Set<ChildProcess>();

/** SIGKILL to every process group spawnInImage started that is still running (time out, interrupt). */
export function killImageProcesses(): void {
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Removes an image root; refuses while anything is still mounted under it. */
export function removeImageRoot(dir: string): void {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4]).filter((point) => point && (point === dir || point.startsWith(dir + '/')));
  if (mounts.length > 0) throw new Error(`not removing ${dir}: still mounted at ${mounts.join(', ')}`);
  spawnSync('rm', ['-rf', '--one-file-system', dir], { stdio: 'inherit' });
}
