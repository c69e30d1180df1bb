import type { DdlVocabulary } from "../../backend";

/** What a migration gets: the dialect's DDL words and a way to run SQL. */
export interface MigrationContext {
  readonly ddl: DdlVocabulary;
  /** Runs one SQL statement (written with `?` placeholders). */
  run(sql: string, params?: unknown[]): Promise<void>;
  /**
   * Whether hrp-cron keeps its own users (`res_users`, with Administrator as
   * id 1): false when the application resolves users itself (a
   * `userResolver`), so the table is not created.
   */
  readonly usersTable: boolean;
}

/**
 * One schema step. Migrations are append-only: never edit, reorder or remove
 * one that has shipped; add a new one instead. Each runs in a transaction
 * and is recorded in `hrp_cron_migrations`.
 */
export interface HrpCronMigration {
  /** Unique and sortable, e.g. `0001-initial-schema`. */
  readonly name: string;
  up(ctx: MigrationContext): Promise<void>;
}
