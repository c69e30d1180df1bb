import type { TestDb } from "./helpers";

/**
 * The contents of every table of a test database (hrp-cron's and the
 * test's), as text: equal snapshots before and after a call prove it wrote
 * nothing. Tables are listed from the catalog, so tables added by later
 * migrations are covered too.
 */
export async function snapshotTables(db: TestDb): Promise<Record<string, string>> {
  const tables: Array<{ name: string }> =
    db.kind === "sqlite"
      ? await db.dataSource.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      : await db.dataSource.query(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`);
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    out[name] = JSON.stringify(await db.dataSource.query(`SELECT * FROM ${name} ORDER BY 1`));
  }
  return out;
}
