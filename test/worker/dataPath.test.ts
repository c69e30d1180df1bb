import { Dispatcher, HrpCronJobService, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * What a job writes on its way (migrations 0012 and 0014), counted in row
 * versions by triggers on hrp-cron's tables: a queue job is one
 * `hrp_cron_job` row that goes pending → running → done (one INSERT, two
 * UPDATEs) and nothing else — no `ir_cron` twin, no run-log row. A
 * `runByCron` job adds the seed's `ir_cron` record, written once and
 * finished once.
 */
describe.each(BACKENDS)("the data path of a job on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("path", {
    async write(env: JobEnv, key: string) {
      await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
    },
  });
  const TABLES = ["ir_cron", "hrp_cron_job", "hrp_cron_run_log"];

  beforeEach(async () => {
    db = await openTestDb(kind);
    const sql = (text: string) => db.dataSource.query(text);
    await sql(`CREATE TABLE test_write (tbl varchar(64) NOT NULL, op varchar(8) NOT NULL)`);
    if (kind === "postgres") {
      await sql(`CREATE FUNCTION test_write_log() RETURNS trigger AS $$
                 BEGIN INSERT INTO test_write (tbl, op) VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$ LANGUAGE plpgsql`);
      for (const t of TABLES)
        await sql(
          `CREATE TRIGGER ${t}_writes AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION test_write_log()`,
        );
    } else {
      for (const t of TABLES)
        for (const op of ["INSERT", "UPDATE", "DELETE"])
          await sql(
            `CREATE TRIGGER ${t}_${op.toLowerCase()}s AFTER ${op} ON ${t} BEGIN INSERT INTO test_write (tbl, op) VALUES ('${t}', '${op}'); END`,
          );
    }
  });
  afterEach(() => db.close());

  /** Row versions written since the last call, as "OP table": count. */
  const tally = async () => {
    const rows: Array<{ tbl: string; op: string; n: unknown }> = await db.dataSource.query(
      `SELECT tbl, op, COUNT(*) AS n FROM test_write GROUP BY tbl, op`,
    );
    await db.dataSource.query(`DELETE FROM test_write`);
    return Object.fromEntries(rows.map((r) => [`${r.op} ${r.tbl}`, Number(r.n)]));
  };

  it("a queue job is one row: one INSERT, then running and done, and nothing else", async () => {
    const jobs = new JobQueue(db.dataSource, { registry });
    await jobs.enqueueBulk(
      ["a", "b", "c", "d", "e"].map((key) => ({ method: "path.write", options: { args: [key] } })),
    );
    expect(await tally()).toEqual({ "INSERT hrp_cron_job": 5 });
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => [r.outcome, r.cronId])).toEqual(Array(5).fill(["done", 0]));
    expect(await tally()).toEqual({ "UPDATE hrp_cron_job": 10 }); // per job: the claim (running), the completion (done)
    expect(await count(db, "test_effect")).toBe(5);
    expect(await count(db, "hrp_cron_runs", "state = 'done' AND cron_id = 0")).toBe(5);
  });

  it("a runByCron job adds the seed's ir_cron record: written once, finished once", async () => {
    const service = new HrpCronJobService(db.dataSource, { registry });
    await db.dataSource.transaction(async (manager) => {
      for (const key of ["a", "b", "c"])
        await service.runByCron(key, "path", "write", [key], 10, 1, undefined, { manager });
    });
    expect(await tally()).toEqual({ "INSERT hrp_cron_job": 3, "INSERT ir_cron": 3 });
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done"]);
    expect(results.every((r) => r.cronId > 0)).toBe(true);
    expect(await tally()).toEqual({ "UPDATE hrp_cron_job": 6, "UPDATE ir_cron": 3 });
    expect(await count(db, "ir_cron", "active = FALSE AND numbercall = 0 AND lastcall IS NOT NULL")).toBe(3);
    expect(await count(db, "hrp_cron_run_log")).toBe(0);
  });
});
