// A hold on the SQL queue's claim, for the close() race test: the claim's UPDATE … RETURNING runs
// and commits (the database shows its jobs active, leased to the worker), but its rows are not
// handed back to the queue until release(). That is the moment close() used to miss: a claim
// committed, its jobs not yet running. A Kysely plugin on the queue's connection, so the driver's
// code runs unchanged.
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

export interface HeldClaims {
  /** pass to openTestQueue as its database plugin */
  plugin: KyselyPlugin;
  /** resolves with the ids of the first claim that took jobs, once it has committed and is held */
  caught: Promise<string[]>;
  /** hands the held rows to the queue; later claims pass straight through */
  release(): void;
}

/** The claim statement, as sql-queue-store.ts writes it. */
const CLAIM = /^\s*update queue_jobs set state = 'active'/;

export function holdFirstClaim(): HeldClaims {
  const claims = new WeakSet<object>();
  let holding = true;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let caught!: (ids: string[]) => void;
  const caughtIds = new Promise<string[]>((resolve) => (caught = resolve));
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
      if (node.kind === 'RawNode' && CLAIM.test(node.sqlFragments.join('?'))) claims.add(queryId);
      return node;
    },
    async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      // Claims that found nothing (idle polls) pass; the first one that took jobs is held.
      if (!holding || !claims.has(queryId) || result.rows.length === 0) return result;
      holding = false;
      caught(result.rows.map((row) => String(row.id)));
      await released;
      return result;
    },
  };
  return { plugin, caught: caughtIds, release };
}
