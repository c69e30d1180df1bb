import { DataSource } from "typeorm";
import { Dispatcher, JobQueue, MIGRATIONS, migrate, ModelRegistry, type JobEnv, type UserResolver } from "../../src";
import { ResUsers } from "../../src/schema/entities";
import { BACKENDS, count, memoryLogger, openTestDb } from "../helpers";

describe.each(BACKENDS)("migrate on %s", (kind) => {
  it("creates the schema once, with Administrator as user 1, and is idempotent", async () => {
    const db = await openTestDb(kind);
    try {
      const admin = await db.dataSource.manager.findOneByOrFail(ResUsers, { id: 1 });
      expect(admin).toMatchObject({ login: "admin", name: "Administrator", active: true });
      expect(await migrate(db.dataSource)).toEqual([]);
      expect(await count(db, "hrp_cron_migrations")).toBe(MIGRATIONS.length);
      expect(await count(db, "res_users")).toBe(1);
      // A second connection migrating the same database does nothing either.
      const other = new DataSource(db.options);
      await other.initialize();
      expect(await migrate(other)).toEqual([]);
      await other.destroy();
    } finally {
      await db.close();
    }
  });

  it("with usersTable: false (an app that resolves its users) creates no res_users; turning it on later creates it", async () => {
    const db = await openTestDb(kind, [], []);
    try {
      const tables = async () =>
        (
          await db.dataSource.query(
            kind === "postgres"
              ? `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()`
              : `SELECT name FROM sqlite_master WHERE type = 'table'`,
          )
        ).map((r: { name: string }) => r.name);
      const applied = await migrate(db.dataSource, { usersTable: false });
      expect(applied).toEqual(MIGRATIONS.map((m) => m.name));
      expect(await tables()).not.toContain("res_users");
      // Jobs run as the application's users.
      const staff: UserResolver = {
        findUser: async (_m, id) => (id === 42 ? { id, login: "li.na", name: "Li Na", active: true, tz: null } : null),
      };
      const registry = new ModelRegistry().register("app", { whoami: (env: JobEnv) => env.user.login });
      const job = await new JobQueue(db.dataSource, { registry, userResolver: staff }).enqueue("app.whoami", {
        userId: 42,
      });
      await new Dispatcher(db.dataSource, registry, { userResolver: staff, logger: memoryLogger() }).runDue();
      expect(await new JobQueue(db.dataSource, { registry, userResolver: staff }).getJobResult(job)).toBe("li.na");
      // Without a resolver later on, hrp-cron keeps its own users again.
      expect(await migrate(db.dataSource)).toEqual([]);
      expect(await db.dataSource.manager.findOneByOrFail(ResUsers, { id: 1 })).toMatchObject({ login: "admin" });
    } finally {
      await db.close();
    }
  });

  it("indexes on the job row cost its running and done versions only where a query needs them", async () => {
    const db = await openTestDb(kind);
    try {
      const defs = (
        await db.dataSource.query(
          kind === "postgres"
            ? `SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'hrp_cron_job' AND schemaname = current_schema()`
            : `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hrp_cron_job' AND sql IS NOT NULL`,
        )
      ).map((r: { name: string; sql: string }): readonly [string, string] => [r.name, r.sql]);
      const def = (name: string): string => defs.find(([n]: readonly [string, string]) => n === name)?.[1] ?? "";
      // The claim's indexes hold pending or claimed jobs only, on both databases.
      expect(def("hrp_cron_job_ready_idx")).toMatch(/WHERE.*state.*=.*'pending'/);
      expect(def("hrp_cron_job_running_idx")).toMatch(/WHERE.*running_worker IS NOT NULL/);
      // Where the planner proves partial indexes, the running and done versions skip the queue and state indexes.
      if (kind === "postgres")
        for (const name of ["hrp_cron_job_queue_idx", "hrp_cron_job_state_idx"])
          expect(def(name)).toMatch(/WHERE.*state.*'running'.*'done'/);
    } finally {
      await db.close();
    }
  });

  it("keeps plain audit queries by state and by method indexed", async () => {
    const db = await openTestDb(kind);
    try {
      // The plan, with sequential scans ruled out where the planner allows it (empty tables favour them).
      const plan = (sql: string) =>
        db.dataSource.transaction(async (m) => {
          if (kind === "postgres") await m.query("SET LOCAL enable_seqscan = off");
          const rows: Record<string, unknown>[] = await m.query(
            kind === "postgres" ? `EXPLAIN ${sql}` : `EXPLAIN QUERY PLAN ${sql}`,
          );
          return rows.map((r) => String(r["QUERY PLAN"] ?? r.detail)).join(" ");
        });
      for (const state of ["pending", "failed", "stopped", "cancelled"]) {
        expect(await plan(`SELECT id FROM hrp_cron_job WHERE state = '${state}' ORDER BY id DESC LIMIT 100`)).toMatch(
          /hrp_cron_job_state_idx/,
        );
      }
      expect(
        await plan(`SELECT id FROM hrp_cron_run_log WHERE state = 'failed' ORDER BY date_start DESC LIMIT 10`),
      ).toMatch(/hrp_cron_run_log_state_idx/);
      expect(await plan(`SELECT id FROM hrp_cron_job WHERE model = 'hrp.asset' AND function = 'post'`)).toMatch(
        /hrp_cron_job_model_idx/,
      );
      expect(
        await plan(
          `SELECT id FROM ir_cron WHERE model = 'hrp.asset' AND function = 'post' AND hrp_cron_job_id IS NULL`,
        ),
      ).toMatch(/ir_cron_model_idx/);
      // The claim of jobs reads their ready index (pending jobs only), listings by queue and state the queue index.
      expect(
        await plan(
          `SELECT id FROM hrp_cron_job WHERE queue = 'default' AND priority = 10 AND state = 'pending' AND nextcall <= CURRENT_TIMESTAMP ORDER BY nextcall, id LIMIT 50`,
        ),
      ).toMatch(/hrp_cron_job_ready_idx/);
      expect(
        await plan(`SELECT id FROM hrp_cron_job WHERE queue = 'reports' AND state = 'failed' ORDER BY date_created`),
      ).toMatch(/hrp_cron_job_queue_idx/);
    } finally {
      await db.close();
    }
  });
});
