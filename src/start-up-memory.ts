// Start-up is the busiest moment of an idle process's life: every module is read and compiled,
// every route's validators and serializers are built, and V8 grows its young generation to the
// largest size NODE_FLAGS allows (8 MB semi-spaces) because so much survives. Once the routes are
// ready, most of that is garbage the heap keeps room for. One memory-reducing collection — the one
// V8 runs under memory pressure: full collections until nothing more is freed, the young
// generation shrunk, the old compacted — gives it back to the system: idle RSS 130 → 108 MiB on
// the built process (#23). It stops the process once, for about 90 ms, before it listens, so no
// request waits for it; under load the young generation grows back to what the load needs.
import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * gc()'s `flavor` came with V8 12 (Node 22). V8 11 (Node 20, on which Workyard is developed but not
 * shipped) would run a plain collection instead, which gives nothing back: there none is run.
 */
export const releasesStartUpMemory = Number(process.versions.v8.split('.')[0]) >= 12;

/** Runs the memory-reducing collection; how long it stopped the process, in ms (null: not on this V8). */
export function releaseStartUpMemory(): number | null {
  if (!releasesStartUpMemory) return null;
  // V8's gc() is exposed to a context made while the flag is on, not to this module's globals.
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as Collect;
  v8.setFlagsFromString('--no-expose-gc');
  const started = performance.now();
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return performance.now() - started;
}
