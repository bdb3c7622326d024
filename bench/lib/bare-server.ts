// The bare Fastify ceiling as a process of its own, for benchmarks that pin servers to a core
// (bench/peer.ts): prints its URL on its first line, then serves until it is killed.
import { startBareFastify } from './ceiling.js';

const bare = await startBareFastify();
console.log(bare.url);
