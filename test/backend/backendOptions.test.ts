import { DataSource } from "typeorm";
import {
  backendFor,
  ConfigError,
  Dispatcher,
  JobQueue,
  ModelRegistry,
  PreparedStatementLostError,
  ValidationError,
  type JobEnv,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { openDataSource } from "../../src/cli/loadConfig";
import { BACKENDS, count, countClaims, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * Backend options (`PostgresOptions`): given once per DataSource, checked
 * up front, and on PostgreSQL what they change about prepared statements.
 * The same through a real PgBouncer: pooler.test.ts.
 */
const registry = new ModelRegistry().register("opts", {
  async write(env: JobEnv, kw: { key: string }) {
    await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
  },
});

describe.each(BACKENDS)("backend options on %s", (kind) => {
  let db: TestDb;
  let extra: DataSource[] = [];
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    for (const ds of extra) if (ds.isInitialized) await ds.destroy();
    extra = [];
    await db.close();
  });

  async function another(poolSize?: number): Promise<DataSource> {
    const ds = new DataSource(
      poolSize && kind === "postgres" ? ({ ...db.options, poolSize } as typeof db.options) : db.options,
    );
    await ds.initialize();
    extra.push(ds);
    return ds;
  }

  it("bad options are refused with ValidationError before the backend exists; statement pooling is refused with the reason", async () => {
    const ds = await another();
    expect(() => backendFor(ds, { poolMode: "statement" as "session" })).toThrow(ValidationError);
    expect(() => backendFor(ds, { poolMode: "statement" as "session" })).toThrow(
      /statement pooling is not supported: .*multi-statement transaction/,
    );
    expect(() => backendFor(ds, { poolMode: "txn" as "session" })).toThrow(
      /poolMode: expected "session" or "transaction"/,
    );
    expect(() => backendFor(ds, { listenUrl: "mysql://db/app" })).toThrow(ValidationError);
    expect(() => backendFor(ds, { listenUrl: 42 as unknown as string })).toThrow(/listenUrl/);
    expect(() => backendFor(ds, null as unknown as Record<string, never>)).toThrow(ValidationError);
    // Nothing was fixed by the refused calls: the DataSource still takes its options.
    expect(backendFor(ds, { poolMode: "transaction" })).toBe(backendFor(ds));
  });

  it("options belong to the DataSource: given once, the same ones again are fine, different ones are a ConfigError", async () => {
    const ds = await another();
    const backend = backendFor(ds, { poolMode: "transaction", listenUrl: "postgres://app@db:5432/app" });
    expect(backendFor(ds)).toBe(backend);
    expect(
      backendFor(ds, { poolMode: "transaction", listenUrl: "postgres://app@db:5432/app", logger: memoryLogger() }),
    ).toBe(backend);
    expect(() => backendFor(ds, { poolMode: "session" })).toThrow(ConfigError);
    expect(() => backendFor(ds, {})).toThrow(/give backend options at the first hrp-cron call on a DataSource/);
    // The test database's backend was created by migrate() without options.
    expect(() => backendFor(db.dataSource, { poolMode: "transaction" })).toThrow(ConfigError);
  });

  it("the CLI applies its config's postgres options, over HRP_CRON_PG_POOL_MODE / HRP_CRON_PG_LISTEN_URL, when it opens the DataSource", async () => {
    const saved = { mode: process.env.HRP_CRON_PG_POOL_MODE, url: process.env.HRP_CRON_PG_LISTEN_URL };
    try {
      process.env.HRP_CRON_PG_POOL_MODE = "transaction";
      process.env.HRP_CRON_PG_LISTEN_URL = "postgres://app@db:5432/app";
      const fromEnv = await openDataSource({ dataSource: await another() });
      expect(() =>
        backendFor(fromEnv, { poolMode: "transaction", listenUrl: "postgres://app@db:5432/app" }),
      ).not.toThrow();
      const fromConfig = await openDataSource({
        dataSource: await another(),
        postgres: { poolMode: "session", listenUrl: null },
      });
      expect(() => backendFor(fromConfig, { poolMode: "session" })).not.toThrow();
      process.env.HRP_CRON_PG_POOL_MODE = "statement";
      await expect(openDataSource({ dataSource: await another() })).rejects.toThrow(
        /statement pooling is not supported/,
      );
    } finally {
      for (const [key, value] of [
        ["HRP_CRON_PG_POOL_MODE", saved.mode],
        ["HRP_CRON_PG_LISTEN_URL", saved.url],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('poolMode "transaction" still runs jobs (SQLite ignores it)', async () => {
    const ds = await another();
    backendFor(ds, { poolMode: "transaction" });
    await new JobQueue(ds, { registry }).enqueue("opts.write", { kwargs: { key: "a" } });
    const results = await new Dispatcher(ds, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done"]);
    expect(await count(db, "test_effect", "effect_key = ?", ["a"])).toBe(1);
  });

  if (kind === "postgres") {
    /** Names of the statements prepared on the connection of a transaction after one hrp-cron query in it. */
    async function preparedAfterOneQuery(ds: DataSource): Promise<string[]> {
      const backend = backendFor(ds);
      return backend.transaction(async (m) => {
        await backend.query(m, "SELECT id FROM res_users WHERE id = ?", [1]);
        const rows: Array<{ name: string }> = await m.query(
          "SELECT name FROM pg_prepared_statements WHERE name LIKE 'hrp_cron_%'",
        );
        return rows.map((r) => r.name);
      });
    }

    it('poolMode "transaction" prepares no named statement; by default one name per statement text, the same in every DataSource', async () => {
      const pooled = await another();
      backendFor(pooled, { poolMode: "transaction" });
      expect(await preparedAfterOneQuery(pooled)).toEqual([]);
      const [first, second] = [await another(), await another()];
      const names = [await preparedAfterOneQuery(first), await preparedAfterOneQuery(second)];
      expect(names[0]).toHaveLength(1);
      expect(names[1]).toEqual(names[0]); // named after the text, not after the order a DataSource met it in
    });

    it("a prepared statement lost from the connection (as behind a transaction pooler) is detected: the job runs once, nothing is recorded as failed", async () => {
      const ds = await another(1); // one connection: the statements prepared below are on it
      const logger = memoryLogger();
      backendFor(ds, { logger });
      await new JobQueue(ds, { registry }).enqueue("opts.write", { kwargs: { key: "lost" } });
      expect(await preparedAfterOneQuery(ds)).not.toEqual([]);
      await ds.query("DEALLOCATE ALL"); // what another server connection behind PgBouncer looks like to the pg driver

      const results = await new Dispatcher(ds, registry, { logger }).runDue();
      expect(results.map((r) => r.outcome)).toEqual(["done"]);
      expect(await count(db, "test_effect", "effect_key = ?", ["lost"])).toBe(1);
      expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(0);
      expect(await countClaims(db)).toBe(0);
      expect(logger.lines.filter((l) => /transaction pooler detected/.test(l))).toHaveLength(1);
      await ds.query("DEALLOCATE ALL");
      expect(await preparedAfterOneQuery(ds)).toEqual([]); // unnamed from now on
    });

    it("a caller's own transaction that meets a lost statement gets PreparedStatementLostError, a transient error; the retry runs unnamed", async () => {
      const ds = await another(1);
      backendFor(ds, { logger: memoryLogger() });
      const jobs = new JobQueue(ds, { registry });
      await jobs.enqueue("opts.write", { kwargs: { key: "before" } });
      await ds.query("DEALLOCATE ALL");
      const thrown = await ds
        .transaction((manager) => jobs.enqueue("opts.write", { kwargs: { key: "mine" }, manager }))
        .catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(PreparedStatementLostError);
      expect((thrown as PreparedStatementLostError).code).toBe("PREPARED_STATEMENT_LOST");
      expect((thrown as Error).message).toMatch(/pooler in transaction mode.*poolMode: "transaction"/);
      expect(backendFor(ds).isTransientError(thrown)).toBe(true);
      expect(await count(db, "hrp_cron_job")).toBe(1); // rolled back
      await ds.transaction((manager) => jobs.enqueue("opts.write", { kwargs: { key: "mine" }, manager }));
      expect(await count(db, "hrp_cron_job")).toBe(2);
    });
  }
});
