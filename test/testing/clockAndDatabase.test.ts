import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Column, Entity, PrimaryGeneratedColumn, Table, type MigrationInterface, type QueryRunner } from "typeorm";
import { HrpCronJobService, ModelRegistry, ResUsers, ValidationError, pendingMigrations, type JobEnv } from "../../src";
import { createTestDataSource, drain, expectRun, testClock } from "../../src/testing";

@Entity({ name: "account_move" })
class AccountMove {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 64 })
  ref!: string;

  @Column({ name: "create_uid", type: "integer" })
  createUid!: number;
}

class CreateAccountMove1767225600000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "account_move",
        columns: [
          { name: "id", type: "integer", isPrimary: true, isGenerated: true, generationStrategy: "increment" },
          { name: "ref", type: "varchar", length: "64" },
          { name: "create_uid", type: "integer" },
        ],
      }),
    );
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable("account_move");
  }
}

/** Issue 15: `hrp-cron/testing`'s clock (pure) and fresh SQLite databases. */
describe("testClock", () => {
  it("moves only when told: by milliseconds, by a duration, or to a date", () => {
    const clock = testClock("2026-03-02T09:00:00Z");
    expect(clock.now().toISOString()).toBe("2026-03-02T09:00:00.000Z");
    expect(clock.now()).not.toBe(clock.now()); // a new Date each time: callers cannot move it by mutating one
    expect(clock.advance(1_500).toISOString()).toBe("2026-03-02T09:00:01.500Z");
    expect(clock.advance({ days: 1, hours: 2, minutes: 3, seconds: 4, milliseconds: 5 }).toISOString()).toBe(
      "2026-03-03T11:03:05.505Z",
    );
    expect(clock.in({ seconds: 30 }).toISOString()).toBe("2026-03-03T11:03:35.505Z");
    expect(clock.now().toISOString()).toBe("2026-03-03T11:03:05.505Z"); // `in` does not move it
    expect(clock.set(new Date("2026-01-01T00:00:00Z")).toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(clock.set("2025-12-31T23:00:00-01:00").toISOString()).toBe("2026-01-01T00:00:00.000Z");
    const { now } = clock; // a plain function, as the `now` options take it
    expect(now().toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("starts at the real time by default", () => {
    const before = Date.now();
    const at = testClock().now().getTime();
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it("refuses going back with advance, fractions, unknown units and dates out of range", () => {
    const clock = testClock("2026-03-02T09:00:00Z");
    expect(() => clock.advance(-1)).toThrow(ValidationError);
    expect(() => clock.advance({ seconds: -5 })).toThrow(/Invalid advance.seconds: expected an integer from 0/);
    expect(() => clock.advance({ seconds: 1.5 })).toThrow(ValidationError);
    expect(() => clock.advance({ weeks: 1 } as never)).toThrow(/unknown option weeks/);
    expect(() => clock.advance("30s" as never)).toThrow(
      /expected milliseconds or a duration such as \{ seconds: 30 \}/,
    );
    expect(() => clock.set("2026-03-02")).toThrow(ValidationError); // no zone: ambiguous
    expect(() => clock.advance({ days: 3_000_000 })).toThrow(/outside the supported range/);
    expect(() => testClock("soon")).toThrow(/Invalid start/);
    expect(clock.now().toISOString()).toBe("2026-03-02T09:00:00.000Z"); // refused moves left it alone
  });
});

describe("createTestDataSource", () => {
  const registry = new ModelRegistry().register("app", {
    async post(env: JobEnv, ref: string) {
      await env.manager.insert(AccountMove, { ref, createUid: env.uid });
    },
  });

  it("opens a migrated in-memory database with the application's tables, where jobs run", async () => {
    const dataSource = await createTestDataSource({ entities: [AccountMove] });
    try {
      expect(dataSource.options).toMatchObject({ type: "better-sqlite3", database: ":memory:" });
      expect(await pendingMigrations(dataSource)).toEqual([]);
      const clerk = await dataSource.manager.save(
        dataSource.manager.create(ResUsers, { login: "clerk", name: "Clerk", active: true, tz: null }),
      );
      const clock = testClock("2026-03-02T09:00:00Z");
      const service = new HrpCronJobService(dataSource, { registry, now: clock.now });
      const job = await service.runByCron("Post", "app", "post", ["M-1"], 10, clerk.id, clock.in({ seconds: 30 }));
      clock.advance({ seconds: 30 });
      expect((await drain(dataSource, registry, { now: clock.now })).map((r) => r.outcome)).toEqual(["done"]);
      expect(await dataSource.manager.find(AccountMove)).toEqual([{ id: 1, ref: "M-1", createUid: clerk.id }]);
      await expectRun(dataSource, { jobId: job.id, state: "done", userId: clerk.id });
    } finally {
      await dataSource.destroy();
    }
  });

  it("runs the application's migrations instead of synchronizing, and gives each call its own database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-testing-"));
    try {
      const file = join(dir, "app.sqlite");
      const first = await createTestDataSource({
        entities: [AccountMove],
        migrations: [CreateAccountMove1767225600000],
        database: file,
      });
      await first.manager.insert(AccountMove, { ref: "M-1", createUid: 1 });
      expect((await first.query("SELECT name FROM migrations")).map((r: { name: string }) => r.name)).toEqual([
        "CreateAccountMove1767225600000",
      ]);
      const second = await createTestDataSource({ entities: [AccountMove] });
      expect(await second.manager.count(AccountMove)).toBe(0);
      await Promise.all([first.destroy(), second.destroy()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves res_users out with usersTable: false, and refuses unknown options", async () => {
    const dataSource = await createTestDataSource({ usersTable: false });
    try {
      const runner = dataSource.createQueryRunner();
      expect([await runner.hasTable("res_users"), await runner.hasTable("hrp_cron_job")]).toEqual([false, true]);
      await runner.release();
    } finally {
      await dataSource.destroy();
    }
    await expect(createTestDataSource({ entity: [AccountMove] } as never)).rejects.toThrow(/unknown option entity/);
  });
});
