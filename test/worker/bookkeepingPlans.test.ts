import pg from "pg";
import type { EntitySubscriberInterface } from "typeorm";
import { Dispatcher, HrpCronJobService, JobQueue, ModelRegistry } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** A batch's bookkeeping: one UPDATE per kind of outcome, its rows given as one JSON parameter. */
const BULK_UPDATE = /^UPDATE (hrp_cron_job|ir_cron)\b[\s\S]*(json_each|json_to_recordset)/;

/**
 * The statements that record a batch's outcomes touch each row they change
 * by its primary key, driven by the JSON rows they are given. A plan that
 * walks an index of the table instead (every running job, say, each joined
 * against every JSON row) costs time in proportion to the jobs in flight,
 * per statement: measured on SQLite as a 4x slower drain when the success
 * update was driven by the state index. Checked on the plans, never timed.
 */
describe.each(BACKENDS)("the plans of a batch's bookkeeping on %s", (kind) => {
  let db: TestDb;
  let sent: { sql: string; params: unknown[] }[];
  let recording = false;
  const pgQuery = pg.Client.prototype.query;

  beforeEach(async () => {
    db = await openTestDb(kind);
    sent = [];
    if (kind === "sqlite") {
      const spy: EntitySubscriberInterface = {
        beforeQuery: (event) =>
          void (
            recording &&
            sent.push({ sql: event.query.trim(), params: Array.isArray(event.parameters) ? [...event.parameters] : [] })
          ),
      };
      db.dataSource.subscribers.push(spy);
    } else {
      // hrp-cron's own statements go to the driver as named prepared statements, past TypeORM's subscribers.
      const record = (config: unknown, values: unknown) => {
        const c = config as string | { text?: string; values?: unknown[] };
        const sql = typeof c === "string" ? c : String(c?.text);
        const params = typeof c === "object" && c?.values ? c.values : Array.isArray(values) ? values : [];
        sent.push({ sql: sql.trim(), params: [...params] });
      };
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        if (recording) record(args[0], args[1]);
        return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof pgQuery;
    }
  });
  afterEach(async () => {
    recording = false;
    pg.Client.prototype.query = pgQuery;
    await db.close();
  });

  /** The indexes of `table` other than its primary key. */
  async function secondaryIndexes(table: string): Promise<string[]> {
    const rows: { name: string }[] =
      kind === "postgres"
        ? await db.dataSource.query(
            `SELECT i.relname AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
              WHERE x.indrelid = $1::regclass AND NOT x.indisprimary`,
            [table],
          )
        : await db.dataSource.query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [table]);
    return rows.map((r) => r.name);
  }

  /** The plan of `sql` with `params`, sequential scans ruled out where the planner allows it (small tables favour them). */
  function plan(sql: string, params: unknown[]): Promise<string[]> {
    return db.dataSource.transaction(async (m) => {
      if (kind === "postgres") await m.query("SET LOCAL enable_seqscan = off");
      const rows: Record<string, unknown>[] = await m.query(
        kind === "postgres" ? `EXPLAIN ${sql}` : `EXPLAIN QUERY PLAN ${sql}`,
        params,
      );
      return rows.map((r) => String(r["QUERY PLAN"] ?? r.detail));
    });
  }

  it("successes, retries, final failures and finished crons are each written by primary key, driven by the JSON rows", async () => {
    const registry = new ModelRegistry().register("plan", {
      ok() {},
      fail() {
        throw new Error("planned failure");
      },
    });
    const jobs = new JobQueue(db.dataSource, { registry });
    const service = new HrpCronJobService(db.dataSource, { registry });
    // Enough rows in flight that a plan walking an index would have something to walk.
    await jobs.enqueueBulk(Array.from({ length: 30 }, () => ({ method: "plan.ok" })));
    await jobs.enqueue("plan.fail", { maxRetries: 1 });
    await jobs.enqueue("plan.fail", { maxRetries: 0 });
    await service.runByCron("a task", "plan", "ok");
    await service.createCron({
      name: "a recurring cron",
      model: "plan",
      function: "ok",
      intervalType: "days",
      nextcall: new Date(Date.now() - 1000),
    });
    recording = true;
    const results = await new Dispatcher(db.dataSource, registry, {
      logger: memoryLogger(),
      batchMaxMs: 600_000,
    }).runDue();
    recording = false;
    expect(results).toHaveLength(34);

    const updates = sent.filter((s) => BULK_UPDATE.test(s.sql));
    const tables = new Set(updates.map((u) => BULK_UPDATE.exec(u.sql)![1]));
    // Done jobs, failed jobs (retry and final), the finished crons: each kind seen.
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect([...tables].sort()).toEqual(["hrp_cron_job", "ir_cron"]);
    for (const { sql, params } of updates) {
      const table = BULK_UPDATE.exec(sql)![1];
      const secondary = await secondaryIndexes(table);
      const lines = await plan(sql, params);
      const text = lines.join("\n");
      for (const index of secondary) expect([sql, text]).not.toEqual([sql, expect.stringContaining(index)]);
      if (kind === "sqlite") {
        // The JSON rows are the outer loop; each row of the table is found by its key.
        expect([sql, lines[0]]).toEqual([sql, expect.stringMatching(/^SCAN json_each/)]);
        expect([sql, text]).toEqual([
          sql,
          expect.stringMatching(new RegExp(`SEARCH ${table} USING INTEGER PRIMARY KEY`)),
        ]);
      } else {
        // Reached through the primary key (an index scan, or a bitmap of the ids' entries).
        const [{ name: pkey }]: { name: string }[] = await db.dataSource.query(
          `SELECT i.relname AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = $1::regclass AND x.indisprimary`,
          [table],
        );
        expect([sql, text]).toEqual([sql, expect.stringMatching(new RegExp(`Index Scan (using|on) ${pkey}\\b`))]);
      }
    }
  });
});
