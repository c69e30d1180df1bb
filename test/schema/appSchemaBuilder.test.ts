import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";
import { ENTITIES, migrate } from "../../src";
import { BACKENDS, openTestDb, type TestDb } from "../helpers";

/** An application's own entity, next to hrp-cron's in its DataSource. */
@Entity({ name: "app_invoice" })
class AppInvoice {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 64 })
  number!: string;
}

/** Every object hrp-cron's migrations left in the database (tables, views, indexes), from the catalog. */
async function hrpCronObjects(db: TestDb): Promise<string[]> {
  const rows: Array<{ name: string }> =
    db.kind === "sqlite"
      ? await db.dataSource.query(`SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`)
      : await db.dataSource.query(
          `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()
           UNION SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`,
        );
  // test_effect is the test helpers' table (test/helpers.ts), not hrp-cron's.
  return rows.map((r) => r.name).filter((name) => !name.startsWith("test_effect"));
}

/**
 * An application that lists `ENTITIES` in its own DataSource runs its own
 * schema tooling on it (`synchronize`, `migration:generate`: both ask
 * TypeORM's schema builder). hrp-cron's tables come from its migrations, so
 * the builder must plan nothing on them, while it still plans the
 * application's own table.
 */
describe.each(BACKENDS)("an application's schema builder on %s", (kind) => {
  it("plans no statement on hrp-cron's tables, views or indexes after migrate(), only the app's table", async () => {
    const db = await openTestDb(kind);
    const app = new DataSource({ ...db.options, entities: [...ENTITIES, AppInvoice] } as typeof db.options);
    try {
      await app.initialize();
      expect(await migrate(app)).toEqual([]); // openTestDb migrated already; the app's own call is a no-op
      const objects = await hrpCronObjects(db);
      expect(objects).toEqual(
        expect.arrayContaining([
          "ir_cron",
          "hrp_cron_job",
          "hrp_cron_run_log",
          "hrp_cron_worker",
          "hrp_cron_migrations",
          "hrp_cron_runs",
          "res_users",
          "scheduled_job_type",
          "scheduled_job_log",
          "hrp_cron_job_ready_idx",
        ]),
      );

      const statements = (await app.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
      const onHrpCron = statements.filter((sql) => objects.some((name) => new RegExp(`\\b${name}\\b`).test(sql)));
      expect(onHrpCron).toEqual([]);
      expect(statements.some((sql) => /CREATE TABLE "app_invoice"/.test(sql))).toBe(true);
    } finally {
      if (app.isInitialized) await app.destroy();
      await db.close();
    }
  });
});
