import { DataSource } from "typeorm";
import {
  backendFor,
  Dispatcher,
  HrpCronJobService,
  JobQueue,
  migrate,
  MIGRATION_ADVISORY_LOCK_KEY,
  MIGRATIONS,
  ModelRegistry,
  type JobEnv,
  type PostgresOptions,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { count, countClaims, memoryLogger, TEST_ENTITIES, type TestDb } from "../helpers";
import { PGBOUNCER, startPgBouncer, type PgBouncer } from "../pgbouncer";
import { eventually } from "../processes";

/**
 * hrp-cron through a real PgBouncer in transaction mode (`pool_mode =
 * transaction`): each transaction may get another server connection, so
 * nothing may rely on session state (named prepared statements, session
 * advisory locks, LISTEN). PostgreSQL only (SQLite has no pooler; the
 * options' validation is tested on both in backendOptions.test.ts); skipped
 * where pgbouncer is not installed (`.ci/run` installs it).
 */
const PG_URL = process.env.HRP_CRON_PG_URL;
const describePooled = PG_URL && PGBOUNCER ? describe : describe.skip;
if (PG_URL && !PGBOUNCER) console.warn("pgbouncer is not installed: skipping the connection-pooler tests");

const registry = new ModelRegistry().register("pool", {
  async write(env: JobEnv, kw: { key: string }) {
    await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
  },
});

const POOLER_DETECTED = /transaction pooler detected/;

describePooled("behind PgBouncer in transaction mode", () => {
  jest.setTimeout(180_000);
  let schema: string;
  let bouncer: PgBouncer | null = null;
  let opened: DataSource[] = [];
  let counter = 0;

  /** A fresh, empty schema on the shared server, and a PgBouncer whose server connections use it. */
  async function start(
    poolSize = 4,
    roundRobin = false,
    poolMode: "session" | "transaction" = "transaction",
  ): Promise<void> {
    schema = `pool_${process.pid}_${Date.now().toString(36)}_${counter++}`;
    await admin((ds) => ds.query(`CREATE SCHEMA ${schema}`));
    bouncer = await startPgBouncer({ upstreamUrl: PG_URL!, searchPath: schema, poolSize, roundRobin, poolMode });
  }

  /** A DataSource through the pooler, its backend created with `options`. */
  async function pooled(options: PostgresOptions, poolSize = 10): Promise<DataSource> {
    const ds = new DataSource({ type: "postgres", url: bouncer!.url, schema, entities: TEST_ENTITIES, poolSize });
    await ds.initialize();
    opened.push(ds);
    backendFor(ds, options);
    return ds;
  }

  afterEach(async () => {
    for (const ds of opened) if (ds.isInitialized) await ds.destroy();
    opened = [];
    await bouncer?.stop();
    bouncer = null;
    await admin((ds) => ds.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });

  it.each([
    ["detected (no option: the first lost prepared statement switches to unnamed ones)", "session"],
    ['configured (poolMode: "transaction")', "transaction"],
  ] as const)(
    "8 slots over 4 dispatchers drain 2,000 jobs exactly once, migrated and enqueued through the pooler: %s",
    async (_, poolMode) => {
      await start();
      const logger = memoryLogger();
      const first = await pooled({ poolMode, logger });
      const second = await pooled({ poolMode, logger });
      await migrate(first);
      await first.query(
        `CREATE TABLE test_effect (id SERIAL PRIMARY KEY, effect_key varchar(128) NOT NULL UNIQUE, uid integer NOT NULL, note varchar(256))`,
      );
      const db = { kind: "postgres", dataSource: first } as TestDb;

      // Enqueued through the pooler from both DataSources: in bulk, one by one, and with runByCron.
      const n = 2000;
      const jobs = [new JobQueue(first, { registry }), new JobQueue(second, { registry })];
      const service = new HrpCronJobService(second, { registry });
      for (let i = 0; i < 1900; i += 475) {
        await jobs[(i / 475) % 2].enqueueBulk(
          Array.from({ length: 475 }, (_, j) => ({ method: "pool.write", options: { kwargs: { key: `k${i + j}` } } })),
        );
      }
      for (let i = 1900; i < 1950; i++) await jobs[i % 2].enqueue("pool.write", { kwargs: { key: `k${i}` } });
      for (let i = 1950; i < n; i++) await service.runByCron(`job ${i}`, "pool", "write", [{ key: `k${i}` }]);
      expect(await count(db, "hrp_cron_job", "state = 'pending'")).toBe(n);

      const dispatchers = [first, first, second, second].map(
        (ds) => new Dispatcher(ds, registry, { concurrency: 2, pollIntervalMs: 200, logger }),
      );
      await Promise.all(dispatchers.map((d) => d.start()));
      try {
        await eventually(
          async () => (await count(db, "hrp_cron_job", "state IN ('done', 'failed')")) === n,
          120_000,
          async () =>
            `jobs ${JSON.stringify(await first.query("SELECT state, COUNT(*) AS n FROM hrp_cron_job GROUP BY state"))}\n${logger.lines.slice(-20).join("\n")}`,
        );
      } finally {
        await Promise.all(dispatchers.map((d) => d.stop()));
      }
      expect(await count(db, "hrp_cron_job", "state = 'done'")).toBe(n);
      expect(await count(db, "test_effect")).toBe(n); // effect_key is unique: a second commit would have failed
      expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(n);
      expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(0);
      expect(await countClaims(db)).toBe(0);
      const detections = logger.lines.filter((l) => POOLER_DETECTED.test(l)).length;
      if (poolMode === "transaction")
        expect(detections).toBe(0); // nothing was prepared under a name
      else expect(detections).toBeGreaterThanOrEqual(1); // at most once per DataSource
      expect(detections).toBeLessThanOrEqual(2);
    },
  );

  it("5 DataSources migrate an empty schema at once through 2 server connections: each migration once, no lock left behind", async () => {
    await start(2);
    const sources = await Promise.all([1, 2, 3, 4, 5].map(() => pooled({ logger: memoryLogger() }, 3)));
    const applied = await Promise.all(sources.map((ds) => migrate(ds)));
    expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    expect(Number((await sources[0].query("SELECT COUNT(*) AS n FROM hrp_cron_migrations"))[0].n)).toBe(
      MIGRATIONS.length,
    );
    // A session-level lock would stay on whichever server connection PgBouncer gave the statement, held by an idle session.
    const leaked = await admin((ds) =>
      ds.query(
        `SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.objid = $1 AND a.state = 'idle'`,
        [MIGRATION_ADVISORY_LOCK_KEY],
      ),
    );
    expect(Number(leaked[0].n)).toBe(0);
    expect(await Promise.all(sources.map((ds) => migrate(ds)))).toEqual([[], [], [], [], []]);
  });

  it("the migration lock is held by the transaction that applies the migration, whichever server connection it got", async () => {
    await start(4, true);
    const ds = await pooled({ poolMode: "transaction" }, 4);
    // Open all 4 server connections, so that PgBouncer hands them out in turn from now on.
    await Promise.all([1, 2, 3, 4].map(() => ds.query("SELECT pg_sleep(0.2)")));
    const probe = {
      name: "9999-lock-probe",
      async up(ctx: { run(sql: string, params?: unknown[]): Promise<void> }) {
        await ctx.run("CREATE TABLE lock_probe (held integer NOT NULL)");
        await ctx.run(
          "INSERT INTO lock_probe SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND granted AND pid = pg_backend_pid()",
          [MIGRATION_ADVISORY_LOCK_KEY],
        );
      },
    };
    expect(await migrate(ds, [probe])).toEqual(["9999-lock-probe"]);
    expect(await ds.query("SELECT held FROM lock_probe")).toEqual([{ held: 1 }]);
  });

  it("in session mode nothing needs setting: named statements and LISTEN through the pooler just work", async () => {
    await start(12, false, "session");
    const logger = memoryLogger();
    const ds = await pooled({ logger }, 6);
    const other = await pooled({ logger }, 4);
    await migrate(ds);
    await ds.query(
      `CREATE TABLE test_effect (id SERIAL PRIMARY KEY, effect_key varchar(128) NOT NULL UNIQUE, uid integer NOT NULL, note varchar(256))`,
    );
    await new JobQueue(other, { registry }).enqueueBulk(
      Array.from({ length: 300 }, (_, i) => ({ method: "pool.write", options: { kwargs: { key: `s${i}` } } })),
    );
    const dispatchers = [ds, other].map(
      (d) => new Dispatcher(d, registry, { concurrency: 2, pollIntervalMs: 200, logger }),
    );
    await Promise.all(dispatchers.map((d) => d.start()));
    const db = { kind: "postgres", dataSource: ds } as TestDb;
    try {
      await eventually(
        async () => (await count(db, "hrp_cron_job", "state IN ('done', 'failed')")) === 300,
        60_000,
        () => logger.lines.slice(-20).join("\n"),
      );
    } finally {
      await Promise.all(dispatchers.map((d) => d.stop()));
    }
    expect(await count(db, "test_effect")).toBe(300);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(0);
    let woken = 0;
    const unlisten = await backendFor(ds).listen(() => woken++, logger);
    try {
      const backend = backendFor(other);
      await eventually(
        async () => {
          await backend.transaction((m) => backend.announceWork(m));
          return woken > 0;
        },
        20_000,
        () => "the listener was never woken",
      );
    } finally {
      await unlisten();
    }
    expect(logger.lines.filter((l) => POOLER_DETECTED.test(l))).toEqual([]);
  });

  it("LISTEN runs on listenUrl, a direct connection: a NOTIFY sent through the pooler wakes the listener", async () => {
    await start();
    const listening = await pooled({ poolMode: "transaction", listenUrl: PG_URL! });
    const notifying = await pooled({ poolMode: "transaction" });
    let woken = 0;
    const unlisten = await backendFor(listening).listen(() => woken++, memoryLogger());
    try {
      const backend = backendFor(notifying);
      // Not sent in this process's in-process wake-up, only as a NOTIFY at commit.
      await eventually(
        async () => {
          await backend.transaction((m) => backend.announceWork(m));
          return woken > 0;
        },
        20_000,
        () => "the listener was never woken",
      );
    } finally {
      await unlisten();
    }
  });

  it('without listenUrl, poolMode "transaction" takes no LISTEN connection and says that other processes\' work is found by polling', async () => {
    await start();
    const ds = await pooled({ poolMode: "transaction" });
    const logger = memoryLogger();
    const unlisten = await backendFor(ds).listen(() => undefined, logger);
    const pool = (ds.driver as unknown as { master: { totalCount: number; idleCount: number } }).master;
    expect(pool.totalCount - pool.idleCount).toBe(0); // no connection checked out to LISTEN on
    await unlisten();
    expect(logger.lines.join("\n")).toMatch(/no LISTEN behind a transaction pooler without listenUrl/);
  });
});

/** Runs `work` on a short-lived direct connection to the shared server. */
async function admin<T>(work: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = new DataSource({ type: "postgres", url: PG_URL });
  await ds.initialize();
  try {
    return await work(ds);
  } finally {
    await ds.destroy();
  }
}
