import type { TestDb } from "./helpers";

/** Every table of a test database (hrp-cron's and the test's), from the catalog: tables added by later migrations are covered too. */
export async function tableNames(db: TestDb): Promise<string[]> {
  const rows: Array<{ name: string }> =
    db.kind === "sqlite"
      ? await db.dataSource.query(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
        )
      : await db.dataSource.query(
          `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
        );
  return rows.map((r) => r.name);
}

/**
 * The contents of every table (or of `tables`), as text: equal snapshots
 * before and after a call prove it wrote nothing. On PostgreSQL one
 * statement reads them all.
 */
export async function snapshotTables(db: TestDb, tables?: readonly string[]): Promise<Record<string, string>> {
  const names = tables ?? (await tableNames(db));
  const out: Record<string, string> = {};
  if (db.kind === "postgres") {
    const [row] = await db.dataSource.query(
      `SELECT ${names.map((t, i) => `(SELECT COALESCE(json_agg(x ORDER BY x::text), '[]'::json) FROM ${t} x)::text AS c${i}`).join(", ")}`,
    );
    names.forEach((t, i) => (out[t] = row[`c${i}`]));
    return out;
  }
  for (const name of names) out[name] = JSON.stringify(await db.dataSource.query(`SELECT * FROM ${name} ORDER BY 1`));
  return out;
}
