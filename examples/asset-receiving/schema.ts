import type { DataSource } from "typeorm";
import { backendFor } from "../../src";

/** The example app's own tables (a real app would use its own TypeORM migrations). */
export async function ensureExampleSchema(dataSource: DataSource): Promise<void> {
  const backend = backendFor(dataSource);
  await backend.transaction(async (m) => {
    await backend.execute(
      m,
      `CREATE TABLE IF NOT EXISTS hrp_asset_receiving_application (
        id ${backend.ddl.serialPrimaryKey}, name varchar(64) NOT NULL, amount integer NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'draft', approved_uid integer NULL)`,
    );
    await backend.execute(
      m,
      `CREATE TABLE IF NOT EXISTS account_move (
        id ${backend.ddl.serialPrimaryKey}, ref varchar(64) NOT NULL UNIQUE, application_id integer NOT NULL,
        amount integer NOT NULL, create_uid integer NOT NULL)`,
    );
  });
}
