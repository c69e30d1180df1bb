import { DataSource } from "typeorm";
import { MIGRATIONS, migrate } from "../../src";
import { ResUsers } from "../../src/schema/entities";
import { BACKENDS, count, openTestDb } from "../helpers";

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
    } finally {
      await db.close();
    }
  });
});
