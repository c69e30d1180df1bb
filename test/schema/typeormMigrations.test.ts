import { DataSource, type DataSourceOptions, type MigrationInterface, type QueryRunner } from "typeorm";
import {
  Dispatcher,
  IrreversibleMigrationError,
  JobQueue,
  MIGRATIONS,
  ModelRegistry,
  TYPEORM_MIGRATIONS,
  migrate,
  typeormMigrations,
  type HrpCronJob,
  type JobEnv,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { snapshotTables } from "../tableSnapshot";

/**
 * An application's own migration, written after it added hrp-cron: it
 * refers to hrp-cron's `res_users`, so it must run after hrp-cron's
 * migrations, whatever order the DataSource lists them in.
 */
class AppInvoices1760000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE app_invoice (id integer PRIMARY KEY, approved_by integer NOT NULL REFERENCES res_users(id))`,
    );
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE app_invoice`);
  }
}

/** Tables that are not hrp-cron's: TypeORM's migration record, the app's, the test helpers'. */
const NOT_HRP_CRON = /^(migrations|app_invoice|test_effect)\b/;

/**
 * The schema as the catalog describes it: tables, columns, indexes, views,
 * constraints, with the test's PostgreSQL schema name taken out, so two
 * databases built the same way compare equal.
 */
async function schemaOf(dataSource: DataSource, kind: TestDb["kind"]): Promise<string[]> {
  if (kind === "sqlite") {
    const rows: Array<{ type: string; name: string; tbl: string; sql: string | null }> = await dataSource.query(
      `SELECT type, name, tbl_name AS tbl, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`,
    );
    return rows.filter((r) => !NOT_HRP_CRON.test(r.tbl)).map((r) => `${r.type} ${r.name}: ${r.sql}`);
  }
  const [{ schema }]: Array<{ schema: string }> = await dataSource.query(`SELECT current_schema() AS schema`);
  const rows: Array<{ tbl: string; item: string }> = await dataSource.query(
    `SELECT table_name AS tbl, 'column ' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '') AS item
       FROM information_schema.columns WHERE table_schema = current_schema()
     UNION ALL
     SELECT tablename, 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
     UNION ALL
     SELECT viewname, 'view ' || definition FROM pg_views WHERE schemaname = current_schema()
     UNION ALL
     SELECT c.relname, 'constraint ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
      WHERE k.connamespace = current_schema()::regnamespace
     ORDER BY 1, 2`,
  );
  return rows.filter((r) => !NOT_HRP_CRON.test(r.tbl)).map((r) => `${r.tbl} ${r.item.split(schema).join("<schema>")}`);
}

const registry = new ModelRegistry().register("app.tasks", {
  async record(env: JobEnv, kw: { key: string }) {
    await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
  },
});

/**
 * hrp-cron's migrations as TypeORM migration classes: an application runs
 * them with its own `migration:run` (here `dataSource.runMigrations()`,
 * what the CLI calls), and gets the schema and the bookkeeping `migrate()`
 * gives, so either may follow the other.
 */
describe.each(BACKENDS)("hrp-cron's migrations run by TypeORM on %s", (kind) => {
  let reference: TestDb; // migrated by migrate()
  let db: TestDb;
  let app: DataSource | undefined;
  beforeEach(async () => {
    reference = await openTestDb(kind);
  });
  afterEach(async () => {
    if (app?.isInitialized) await app.destroy();
    app = undefined;
    await db?.close();
    await reference.close();
  });

  /** The application's DataSource on `db`, listing its migration before hrp-cron's. */
  async function appDataSource(extra: Partial<DataSourceOptions> = {}): Promise<DataSource> {
    app = new DataSource({
      ...db.options,
      migrations: [AppInvoices1760000000000, ...TYPEORM_MIGRATIONS],
      ...extra,
    } as DataSourceOptions);
    await app.initialize();
    return app;
  }

  it.each(["all", "each", "none"] as const)(
    "builds what migrate() builds, with its bookkeeping, so migrate() then does nothing (transaction mode %s)",
    async (migrationsTransactionMode) => {
      db = await openTestDb(kind, [], []); // no hrp-cron migration applied
      const ds = await appDataSource({ migrationsTransactionMode });
      const ran = await ds.runMigrations();
      // hrp-cron's first (timestamps 1..n), in order, then the application's, which needs res_users.
      expect(ran.map((m) => m.name)).toEqual([
        ...TYPEORM_MIGRATIONS.map((M) => new M().name),
        "AppInvoices1760000000000",
      ]);
      expect(await count(db, "hrp_cron_migrations")).toBe(MIGRATIONS.length);
      expect(await migrate(ds)).toEqual([]);
      expect(await schemaOf(ds, kind)).toEqual(await schemaOf(reference.dataSource, kind));
      expect(await ds.showMigrations()).toBe(false);

      // The tables work: a job is enqueued, run and recorded as on a database migrate() built.
      const job = (await new JobQueue(ds, { registry }).enqueue("app.tasks.record", {
        kwargs: { key: "k" },
      })) as HrpCronJob;
      const results = await new Dispatcher(ds, registry, { logger: memoryLogger() }).runDue();
      expect(results.map((r) => [r.jobId, r.outcome])).toEqual([[job.id, "done"]]);
      expect(await count(db, "hrp_cron_job", "id = ? AND state = 'done'", [job.id])).toBe(1);
      expect(await count(db, "test_effect", "effect_key = 'k'")).toBe(1);
    },
  );

  it("only records, in TypeORM's table, the migrations migrate() applied first", async () => {
    db = await openTestDb(kind); // migrate() applied them all
    const before = await snapshotTables(db, ["hrp_cron_migrations", "res_users"]);
    const schemaBefore = await schemaOf(db.dataSource, kind);
    const ds = await appDataSource();
    expect((await ds.runMigrations()).length).toBe(MIGRATIONS.length + 1);
    expect(await count(db, "migrations")).toBe(MIGRATIONS.length + 1);
    expect(await snapshotTables(db, ["hrp_cron_migrations", "res_users"])).toEqual(before);
    expect(await schemaOf(ds, kind)).toEqual(schemaBefore);
  });

  it("creates no res_users for an application with its own users (usersTable: false), under the same names", async () => {
    db = await openTestDb(kind, [], []);
    const own = typeormMigrations({ usersTable: false });
    expect(own.map((M) => new M().name)).toEqual(TYPEORM_MIGRATIONS.map((M) => new M().name));
    const ds = await appDataSource({ migrations: own });
    expect((await ds.runMigrations()).length).toBe(MIGRATIONS.length);
    const runner = ds.createQueryRunner();
    try {
      expect(await runner.hasTable("res_users")).toBe(false);
      expect(await runner.hasTable("hrp_cron_job")).toBe(true);
    } finally {
      await runner.release();
    }
    expect(await count(db, "hrp_cron_migrations")).toBe(MIGRATIONS.length);
  });

  it("refuses to revert an hrp-cron migration, and changes nothing", async () => {
    db = await openTestDb(kind, [], []);
    const ds = await appDataSource({ migrations: [...TYPEORM_MIGRATIONS] });
    await ds.runMigrations();
    const schemaBefore = await schemaOf(ds, kind);
    await expect(ds.undoLastMigration()).rejects.toBeInstanceOf(IrreversibleMigrationError);
    expect(await count(db, "migrations")).toBe(MIGRATIONS.length);
    expect(await schemaOf(ds, kind)).toEqual(schemaBefore);
  });
});

describe("TypeORM's names of hrp-cron's migrations", () => {
  it("end in 13-digit timestamps that follow MIGRATIONS' order, one class per migration", () => {
    const names = TYPEORM_MIGRATIONS.map((M) => new M().name ?? "");
    expect(names[0]).toBe("HrpCronInitialSchema0000000000001");
    expect(names).toHaveLength(MIGRATIONS.length);
    for (const name of names) expect(name).toMatch(/^HrpCron[A-Za-z0-9]+\d{13}$/);
    const stamps = names.map((name) => Number(name.slice(-13)));
    expect(stamps).toEqual(MIGRATIONS.map((m) => Number(m.name.split("-")[0])));
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    expect(new Set(stamps).size).toBe(stamps.length);
  });
});
