import type { DataSource, EntityManager } from "typeorm";
import { MIGRATIONS, type HrpCronMigration, type MigrationContext } from "./migrations";
import { createUsersTable, USERS_TABLE } from "./migrations/usersTable";
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
 * With `{ usersTable: false }` (an application that resolves its users
 * itself) hrp-cron's `res_users` table is not created.
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
  options: MigrateOptions | readonly HrpCronMigration[] = {},
): Promise<string[]> {
  const { migrations = MIGRATIONS, usersTable = true } = Array.isArray(options)
    ? { migrations: options as readonly HrpCronMigration[] }
    : (options as MigrateOptions);
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
        return applyMigration(backend, manager, migration, usersTable);
      }),
    );
    if (ran) applied.push(migration.name);
  }
  // A database first migrated for an application with its own users gets res_users once hrp-cron keeps them.
  if (usersTable)
    await retried(() =>
      backend.transaction(async (manager) => {
        await backend.lockForMigrations(manager);
        const schema = await backend.query(manager, `SELECT name FROM ${MIGRATIONS_TABLE} WHERE name = ?`, [
          MIGRATIONS[0].name,
        ]);
        // Only once hrp-cron's schema exists (its first migration created it, without res_users then).
        if (schema.length > 0 && !(await manager.queryRunner!.hasTable(USERS_TABLE)))
          await createUsersTable(migrationContext(backend, manager, true));
      }),
    );
  return applied;
}

/** How {@link migrate} runs. */
export interface MigrateOptions {
  /**
   * Whether hrp-cron keeps its own users table, `res_users` (read by the
   * default `ResUsersResolver`, with Administrator as id 1). Pass false
   * when the application resolves users itself (a `userResolver` over its
   * own table): `res_users` is then not created. Turning it on later
   * creates it then. The CLI passes false when its config has a
   * `userResolver`. @defaultValue true
   */
  readonly usersTable?: boolean;
  /** The migrations to apply, oldest first (tests). @defaultValue every hrp-cron migration */
  readonly migrations?: readonly HrpCronMigration[];
}

/** What a migration runs with, in `manager`'s transaction. */
function migrationContext(backend: Backend, manager: EntityManager, usersTable: boolean): MigrationContext {
  return {
    ddl: backend.ddl,
    usersTable,
    run: async (sql, params) => {
      await backend.execute(manager, sql, params ?? []);
    },
  };
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
  usersTable = true,
): Promise<boolean> {
  const done = await backend.query(manager, `SELECT name FROM ${MIGRATIONS_TABLE} WHERE name = ?`, [migration.name]);
  if (done.length > 0) return false;
  await migration.up(migrationContext(backend, manager, usersTable));
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
