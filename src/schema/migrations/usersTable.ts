import type { MigrationContext } from "./migration";

/** The table `res_users`, created by migration 0001 or later by `migrate()`'s users step. */
export const USERS_TABLE = "res_users";

/**
 * Creates `res_users` (what the default `ResUsersResolver` reads) with
 * Administrator as id 1 (login `admin`): the users of an application that
 * does not resolve its own. The same DDL whether migration 0001 or
 * `migrate()`'s users step (a database first migrated with a
 * `userResolver`) runs it.
 */
export async function createUsersTable({ ddl, run }: Pick<MigrationContext, "ddl" | "run">): Promise<void> {
  await run(`CREATE TABLE ${USERS_TABLE} (
      id ${ddl.serialPrimaryKey},
      login varchar(128) NOT NULL UNIQUE,
      name varchar(256) NOT NULL,
      active boolean NOT NULL DEFAULT TRUE,
      tz varchar(64),
      create_date ${ddl.timestamp}
    )`);
  await run(
    `INSERT INTO ${USERS_TABLE} (login, name, active, tz, create_date) VALUES ('admin', 'Administrator', TRUE, NULL, CURRENT_TIMESTAMP)`,
  );
}
