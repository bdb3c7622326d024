// At most N form posts a minute from one client address (WORKYARD_FORM_RATE_LIMIT, 10 by default;
// 0: none). It counts what browsers and form bots send — urlencoded posts to the two form routes —
// in the database every API node shares, so the limit holds across nodes in either shape. JSON
// clients are API clients: the general rate limits (WORKYARD_RATE_LIMIT_*) are theirs, and a
// caller with the API key is never counted. Fixed one-minute windows: a person sending two
// messages never notices, a bot learns to wait a minute per ten posts.
import { sql } from 'kysely';
import type { Database } from '../../infra/db/database.js';
import { withTables } from '../../infra/db/database.js';
import type { FeedbackTables } from './store.js';

const WINDOW_MS = 60_000;

export interface PostLimitVerdict {
  allowed: boolean;
  /** seconds until the window ends (when not allowed) */
  retryAfterS: number;
}

export class FormPostLimit {
  private readonly database: Database<FeedbackTables>;
  private lastPrune = 0;

  constructor(
    database: Database,
    readonly postsPerMinute: number,
  ) {
    this.database = withTables<FeedbackTables>(database);
  }

  get enabled(): boolean {
    return this.postsPerMinute > 0;
  }

  /** Counts one post from the address; whether it is within the limit. */
  async hit(address: string, now = Date.now()): Promise<PostLimitVerdict> {
    const windowStart = now - (now % WINDOW_MS);
    const row = await this.database.run((db) =>
      db
        .insertInto('feedback_post_counts')
        .values({ address, window_start: windowStart, posts: 1 })
        .onConflict((oc) => oc.columns(['address', 'window_start']).doUpdateSet({ posts: sql`feedback_post_counts.posts + 1` }))
        .returning('posts')
        .executeTakeFirstOrThrow(),
    );
    if (now - this.lastPrune > WINDOW_MS) {
      this.lastPrune = now;
      // past windows only; best effort: a failed prune is retried a minute later
      void this.database.run((db) => db.deleteFrom('feedback_post_counts').where('window_start', '<', windowStart).execute()).catch(() => {});
    }
    const allowed = Number(row.posts) <= this.postsPerMinute;
    return { allowed, retryAfterS: allowed ? 0 : Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000)) };
  }
}
