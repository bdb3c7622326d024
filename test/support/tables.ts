// Every table Workyard's stores declare, for tests and benches that look at (or fill) the rows
// straight from SQL.
import { type Database, withTables } from '../../src/infra/db/database.js';
import type { BucketTables } from '../../src/infra/counters/bucket-store.js';
import type { CountersTables } from '../../src/infra/counters/counter-store.js';
import type { WindowTables } from '../../src/infra/counters/sql-windows.js';
import type { QueueTables } from '../../src/infra/queue/sql-queue-store.js';
import type { ComputeTables } from '../../src/modules/compute/store.js';
import type { FeedbackTables } from '../../src/modules/feedback/store.js';
import type { HarvestTables } from '../../src/modules/harvest/store.js';
import type { FastTierTables } from '../../src/infra/fast-tier/sql.js';

export type WorkyardTables = QueueTables & CountersTables & BucketTables & WindowTables & ComputeTables & FeedbackTables & HarvestTables & FastTierTables;

export const tablesOf = (database: Database) => withTables<WorkyardTables>(database).db;
