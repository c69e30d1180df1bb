import { Table, type MigrationInterface, type QueryRunner } from "typeorm";

/**
 * The example app's own tables, created by its own TypeORM migration (as
 * `typeorm migration:run` or `dataSource.runMigrations()` runs it), the
 * way an application keeps its schema beside hrp-cron's.
 */
export class CreateAssetReceivingTables1767225600000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    const id = {
      name: "id",
      type: "integer",
      isPrimary: true,
      isGenerated: true,
      generationStrategy: "increment" as const,
    };
    await queryRunner.createTable(
      new Table({
        name: "app_user",
        columns: [
          id,
          { name: "username", type: "varchar", length: "64", isUnique: true },
          { name: "full_name", type: "varchar", length: "128" },
          { name: "enabled", type: "boolean", default: "true" },
          { name: "tz", type: "varchar", length: "64", isNullable: true },
          { name: "uuid", type: "varchar", length: "36", isUnique: true },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: "hrp_asset_receiving_application",
        columns: [
          id,
          { name: "name", type: "varchar", length: "64" },
          { name: "amount", type: "integer" },
          { name: "state", type: "varchar", length: "16", default: "'draft'" },
          { name: "approved_uid", type: "integer", isNullable: true },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: "account_move",
        columns: [
          id,
          { name: "ref", type: "varchar", length: "64", isUnique: true },
          { name: "application_id", type: "integer" },
          { name: "amount", type: "integer" },
          { name: "create_uid", type: "integer" },
        ],
      }),
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable("account_move");
    await queryRunner.dropTable("hrp_asset_receiving_application");
    await queryRunner.dropTable("app_user");
  }
}
