import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySyncs, fsyncDirectory } from './directory-syncs.js';

describe('DirectorySyncs (group commit of directory fsyncs)', () => {
  let root: string;
  let started: string[];
  let finishers: Array<() => void>;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-dirsync-'));
    started = [];
    finishers = [];
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  /** the real fsync, held until the test lets it finish, so the test decides what overlaps */
  const heldSync = (dir: string) => {
    started.push(dir);
    return fsyncDirectory(dir).then(() => new Promise<void>((resolve) => finishers.push(resolve)));
  };
  const settled = async (promise: Promise<void>) => {
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    return done;
  };

  it('a sync asked for while one runs waits for a later one, which all those callers share', async () => {
    const syncs = new DirectorySyncs(heldSync);
    const first = syncs.sync(root);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toHaveLength(1);
    // arrive while the first runs: their renames may postdate its start
    const second = syncs.sync(root);
    const third = syncs.sync(root);
    expect(started).toHaveLength(1);
    finishers.shift()!();
    await first;
    expect(await settled(second)).toBe(false); // not answered by the sync that began before it
    expect(started).toHaveLength(2);
    finishers.shift()!();
    await Promise.all([second, third]);
    expect(started).toHaveLength(2);
  });

  it('directories are synced independently, and a failure reaches every caller of that sync', async () => {
    const syncs = new DirectorySyncs();
    const other = fs.mkdtempSync(path.join(root, 'sub-'));
    await Promise.all([syncs.sync(root), syncs.sync(other), syncs.sync(root)]);
    const missing = path.join(root, 'missing');
    const calls = [syncs.sync(missing), syncs.sync(missing)];
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'ENOENT' });
    // the directory is asked again afresh after a failure
    fs.mkdirSync(missing);
    await expect(syncs.sync(missing)).resolves.toBeUndefined();
  });
});
