// Ids of rows written at a high rate (queue jobs, feedback entries, outbox events, harvested
// images): UUID version 7, whose first 48 bits are the time in milliseconds. A random (version 4)
// id lands each insert on a random leaf of its primary-key index, so every commit rewrote as many
// index pages as it had rows; time-ordered ids append to the index's last pages. On SQLite the
// multi-row enqueue of POST /feedback/async took 0.62 ms a statement against 1.0-1.1 with version
// 4 (same run). The time in an id is no secret here: every such row also shows when it was made.
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

// uuid asks the system's generator for 16 bytes per id (crypto.getRandomValues): under load that
// call was 4 µs an id, two ids and a tenth of the main thread per queued POST. Random bytes are
// drawn 4 KiB at a time instead, as crypto.randomUUID does with its own cache.
const random = Buffer.alloc(16 * 256);
let nextRandom = random.length;

// Ids made in one millisecond keep their order: the same rule uuid applies when it draws its own
// bytes (a counter seeded from the random bits, bumped within a millisecond), which it skips when
// it is given them.
let lastMs = -Infinity;
let sequence = 0;

/** A new UUID (version 7: time-ordered, then random). */
export function newRowId(): string {
  if (nextRandom === random.length) {
    randomFillSync(random);
    nextRandom = 0;
  }
  const bytes = random.subarray(nextRandom, (nextRandom += 16));
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = ((bytes[6] & 0x7f) << 24) | (bytes[7] << 16) | (bytes[8] << 8) | bytes[9];
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs++;
  }
  return v7({ random: bytes, msecs: lastMs, seq: sequence });
}
