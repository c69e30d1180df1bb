import type { DataSource, EntityManager } from "typeorm";
import { MIGRATIONS, type HrpCronMigration } from "./migrations";
import { backendFor, type Backend } from "../backend";
import { DEFAULTS } from "../core/options";
import { withTransientRetry } from "../backend/retry";

/** Name of the table recording which hrp-cron migrations ran. */
export const MIGRATIONS_TABLE = "hrp_cron_migrations";

/**
 * Brings the hrp-cron tables of `dataSource` up to date. Idempotent: applied
 * migrations are skipped, so it is safe to call on every start. Each
 * migration runs in its own transaction together with its bookkeeping row,
 * under a transaction-scoped lock (an advisory lock on PostgreSQL), so many
 * workers starting at once apply each migration exactly once, also through
 * a pooler in transaction mode. A migration's transaction that fails with a
 * transient error (e.g. a prepared statement lost behind such a pooler) is
 * retried; it re-checks whether the migration was applied meanwhile.
 *
 * @returns the names of the migrations applied by this call.
 *
 * ```ts
 * await dataSource.initialize();
 * await migrate(dataSource);
 * ```
 */
export async function migrate(
  dataSource: DataSource,
  migrations: readonly HrpCronMigration[] = MIGRATIONS,
): Promise<string[]> {
  const backend = backendFor(dataSource);
  const retried = <T>(work: () => Promise<T>) => withTransientRetry(backend, DEFAULTS, work);
  await retried(() =>
    backend.transaction(async (m) => {
      await backend.lockForMigrations(m);
      await createMigrationsTable(backend, m);
    }),
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    const ran = await retried(() =>
      backend.transaction(async (manager) => {
        await backend.lockForMigrations(manager);
        return applyMigration(backend, manager, migration);
      }),
    );
    if (ran) applied.push(migration.name);
  }
  return applied;
}

/** Creates the bookkeeping table ({@link MIGRATIONS_TABLE}) unless it exists. */
export async function createMigrationsTable(backend: Backend, manager: EntityManager): Promise<void> {
  await backend.execute(
    manager,
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name varchar(128) PRIMARY KEY, applied_at ${backend.ddl.timestamp} NOT NULL)`,
  );
}

/**
 * Applies `migration` in the transaction of `manager` and records it in
 * {@link MIGRATIONS_TABLE}, unless that table says it was applied already:
 * the one step shared by {@link migrate} and the TypeORM migration classes
 * (`TYPEORM_MIGRATIONS`), so either may follow the other. The caller holds
 * the migration lock (`lockForMigrations`) in that transaction.
 *
 * @returns whether it ran
 */
export async function applyMigration(
  backend: Backend,
  manager: EntityManager,
  migration: HrpCronMigration,
): Promise<boolean> {
  const done = await backend.query(manager, `SELECT name FROM ${MIGRATIONS_TABLE} WHERE name = ?`, [migration.name]);
  if (done.length > 0) return false;
  await migration.up({
    ddl: backend.ddl,
    run: async (sql, params) => {
      await backend.execute(manager, sql, params ?? []);
    },
  });
  await backend.execute(manager, `INSERT INTO ${MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)`, [
    migration.name,
    backend.toDbDate(new Date()),
  ]);
  return true;
}

/**
 * Names of the hrp-cron migrations not yet applied to `dataSource` (all of
 * them when it has no hrp-cron tables), in order. Only reads.
 */
export async function pendingMigrations(
  dataSource: DataSource,
  migrations: readonly HrpCronMigration[] = MIGRATIONS,
): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    if (!(await runner.hasTable(MIGRATIONS_TABLE))) return migrations.map((m) => m.name);
  } finally {
    await runner.release();
  }
  const backend = backendFor(dataSource);
  const applied = new Set(
    (await backend.query<{ name: string }>(dataSource.manager, `SELECT name FROM ${MIGRATIONS_TABLE}`)).map(
      (r) => r.name,
    ),
  );
  return migrations.map((m) => m.name).filter((name) => !applied.has(name));
}
