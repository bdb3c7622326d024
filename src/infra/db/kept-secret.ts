// A secret every process of a deployment shares through its database (a table of one row, `id` 1
// and `secret`): the first process to ask makes it (a second maker's insert is ignored), then
// everyone reads the one stored. For keys the operator may leave unset (the feedback forms' token
// key, the blob links' signing key) without each API node making a different one.
import { type Database, withTables } from './database.js';

export async function keptSecret(database: Database, table: string, make: () => string): Promise<string> {
  const secrets = withTables<Record<string, { id: number; secret: string }>>(database);
  return secrets.run(async (db) => {
    await db.insertInto(table).values({ id: 1, secret: make() }).onConflict((oc) => oc.column('id').doNothing()).execute();
    return (await db.selectFrom(table).select('secret').where('id', '=', 1).executeTakeFirstOrThrow()).secret;
  });
}
