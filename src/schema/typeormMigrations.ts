import type { MigrationInterface, QueryRunner } from "typeorm";
import { backendFor } from "../backend";
import { IrreversibleMigrationError } from "../core/errors";
import { applyMigration, createMigrationsTable } from "./migrate";
import { MIGRATIONS, type HrpCronMigration } from "./migrations";

/** A TypeORM migration class, as a DataSource's `migrations` option takes it. */
export type TypeormMigrationClass = new () => MigrationInterface;

/**
 * TypeORM's name of an hrp-cron migration: `HrpCron`, its name in
 * PascalCase, and its number as the 13-digit "timestamp" TypeORM reads
 * from the end of a migration's name (`0001-initial-schema` →
 * `HrpCronInitialSchema0000000000001`). TypeORM runs pending migrations in
 * timestamp order, so hrp-cron's (timestamps 1, 2, ...: January 1970) run
 * before any of the application's, whose own migrations may then refer to
 * hrp-cron's tables.
 */
export function typeormMigrationName(migration: HrpCronMigration): string {
  const [number, ...words] = migration.name.split("-");
  return `HrpCron${words.map((word) => word[0].toUpperCase() + word.slice(1)).join("")}${number.padStart(13, "0")}`;
}

/**
 * `migration` as a TypeORM migration class. Its `up` runs the same step as
 * `migrate()` (`applyMigration`), with the same bookkeeping row in
 * `hrp_cron_migrations`: it does nothing when that table says the
 * migration was applied (by `migrate()`, say), and `migrate()` later skips
 * what it applied. It runs in TypeORM's migration transaction (or, with
 * `migrationsTransactionMode: "none"`, in its own), under hrp-cron's
 * migration lock. `down` refuses: hrp-cron's migrations are forward-only.
 */
export function typeormMigration(migration: HrpCronMigration, usersTable = true): TypeormMigrationClass {
  const name = typeormMigrationName(migration);
  return class HrpCronTypeormMigration implements MigrationInterface {
    readonly name = name;

    async up(queryRunner: QueryRunner): Promise<void> {
      // `connection` is the runner's DataSource in TypeORM 0.3 and 1.x alike (1.x also calls it `dataSource`).
      const backend = backendFor(queryRunner.connection);
      await backend.inTransaction(queryRunner.manager, async (manager) => {
        await backend.lockForMigrations(manager);
        await createMigrationsTable(backend, manager);
        await applyMigration(backend, manager, migration, usersTable);
      });
    }

    async down(): Promise<void> {
      throw new IrreversibleMigrationError(migration.name);
    }
  };
}

/**
 * hrp-cron's migrations ({@link MIGRATIONS}) as TypeORM migration classes,
 * oldest first, for an application that runs its schema changes with its
 * own `typeorm migration:run` instead of calling `migrate()`:
 *
 * ```ts
 * export default new DataSource({
 *   type: "postgres",
 *   url: process.env.DATABASE_URL,
 *   entities: [...ENTITIES, Invoice],
 *   migrations: [...TYPEORM_MIGRATIONS, "dist/migrations/*.js"],
 * });
 * ```
 *
 * Mixing both is safe: each records itself in `hrp_cron_migrations` as
 * `migrate()` does, so `migrate()` then finds nothing to do, and a
 * migration `migrate()` applied first is only recorded in TypeORM's
 * `migrations` table when TypeORM runs it.
 *
 * An application that resolves its users itself takes
 * {@link typeormMigrations}`({ usersTable: false })` instead.
 */
export const TYPEORM_MIGRATIONS: readonly TypeormMigrationClass[] = typeormMigrations();

/** Which of hrp-cron's tables {@link typeormMigrations} creates. */
export interface TypeormMigrationsOptions {
  /**
   * Whether hrp-cron keeps its own users table, `res_users`, as for
   * `migrate()`: false for an application with a `userResolver` over its
   * own users. The classes have the same names either way (TypeORM records
   * them by name). @defaultValue true
   */
  readonly usersTable?: boolean;
}

/**
 * hrp-cron's migrations as TypeORM migration classes, as
 * {@link TYPEORM_MIGRATIONS}, with options:
 *
 * ```ts
 * migrations: [...typeormMigrations({ usersTable: false }), "dist/migrations/*.js"],
 * ```
 */
export function typeormMigrations(options: TypeormMigrationsOptions = {}): TypeormMigrationClass[] {
  const usersTable = options.usersTable ?? true;
  return MIGRATIONS.map((migration) => typeormMigration(migration, usersTable));
}
