import { DataSource } from "typeorm";
import { MIGRATIONS, migrate } from "../src";
import { ResUsers } from "../entities";
import { BACKENDS, count, openTestDb } from "./helpers";

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
});
