import Database from "better-sqlite3";
import { DataSource } from "typeorm";
import { HrpCronJob } from "../../src/schema/entities/HrpCronJob";
import {
  CommitOutcomeUnknownError,
  Dispatcher,
  HrpCronJobService,
  JobQueue,
  ModelRegistry,
  type JobEnv,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, dataSourceOptions, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { startPgProxy, type PgProxy } from "../pgProxy";

/**
 * Item 1 of issue 12: a write whose COMMIT reply is lost must not be
 * written twice. On PostgreSQL the calls go through a proxy that forwards
 * the COMMIT to the server and cuts the connection before the reply reaches
 * the client; the call must then return its single write (the server
 * committed), or retry when the COMMIT never arrived, or say it cannot
 * tell. SQLite's COMMIT is a local call with no reply to lose; there the
 * same calls meet the fault SQLite does have — the write lock held by
 * another connection when they begin — and must also write exactly once.
 */
describe.each(BACKENDS)("a write whose COMMIT reply is lost, on %s", (kind) => {
  let db: TestDb;
  let client: DataSource; // the application's connection: through the proxy on PostgreSQL
  let proxy: PgProxy | null = null;
  let invocations: Map<string, number>;
  let registry: ModelRegistry;
  const budget = { transientRetryBudgetMs: 5_000, transientRetryMaxDelayMs: 100 };

  /** Arms the fault for the next write; resolves once it happened. */
  function fault(): Promise<void> {
    if (proxy) return proxy.cutNextCommit("reply-lost");
    // SQLite: another connection holds the write lock for a while; the call's BEGIN IMMEDIATE is refused (busy) meanwhile.
    const holder = new Database(db.location.sqliteFile!, { timeout: 0 });
    holder.exec("BEGIN IMMEDIATE");
    return new Promise((resolve) =>
      setTimeout(() => {
        holder.exec("COMMIT");
        holder.close();
        resolve();
      }, 300),
    );
  }

  beforeEach(async () => {
    db = await openTestDb(kind);
    invocations = new Map();
    registry = new ModelRegistry().register("lost", {
      async effect(env: JobEnv, kw: { key: string }) {
        invocations.set(kw.key, (invocations.get(kw.key) ?? 0) + 1);
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
    });
    if (kind === "postgres") {
      const url = new URL(db.location.pgUrl!);
      proxy = await startPgProxy({ host: url.hostname, port: Number(url.port || 5432) });
      url.port = String(proxy.port);
      client = new DataSource(dataSourceOptions({ pgUrl: url.toString(), pgSchema: db.location.pgSchema }));
    } else {
      // A short busy timeout: better-sqlite3 waits synchronously, and the lock holder's timer must get to run.
      client = new DataSource({ ...dataSourceOptions(db.location), timeout: 20 } as never);
    }
    await client.initialize();
  });

  afterEach(async () => {
    if (client.isInitialized) await client.destroy();
    await proxy?.close();
    proxy = null;
    await db.close();
  });

  const jobsNamed = (name: string) => count(db, "hrp_cron_job", "name = ?", [name]);
  const cronsOfJobsNamed = (name: string) =>
    count(db, "ir_cron", "hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE name = ?)", [name]);

  it("enqueue, enqueueBulk, runByCron, runByCronBulk and createCron each write exactly once", async () => {
    const jobs = new JobQueue(client, { registry, logger: memoryLogger(), ...budget });
    const service = new HrpCronJobService(client, { registry, logger: memoryLogger(), ...budget });

    let happened = fault();
    const job = (await jobs.enqueue("lost.effect", { kwargs: { key: "q" }, jobName: "one enqueue" })) as HrpCronJob;
    await happened;
    expect(await jobsNamed("one enqueue")).toBe(1);
    expect(await cronsOfJobsNamed("one enqueue")).toBe(0); // a queue job is one row (migration 0014)
    expect(job.id).toBe((await db.dataSource.manager.findOneByOrFail(HrpCronJob, { name: "one enqueue" })).id);

    happened = fault();
    const bulk = await jobs.enqueueBulk(
      ["a", "b", "c"].map((key) => ({ method: "lost.effect", options: { kwargs: { key }, jobName: "one bulk" } })),
    );
    await happened;
    expect(bulk).toHaveLength(3);
    expect(await jobsNamed("one bulk")).toBe(3);
    expect(await cronsOfJobsNamed("one bulk")).toBe(0);

    happened = fault();
    await service.runByCron("one runByCron", "lost", "effect", [{ key: "r" }]);
    await happened;
    expect(await jobsNamed("one runByCron")).toBe(1);
    expect(await cronsOfJobsNamed("one runByCron")).toBe(1);

    happened = fault();
    const calls = await service.runByCronBulk(
      ["s", "t", "u"].map((key) => ({ name: "one runByCronBulk", model: "lost", function: "effect", args: [{ key }] })),
    );
    await happened;
    expect(calls).toHaveLength(3);
    expect(await jobsNamed("one runByCronBulk")).toBe(3);
    expect(await cronsOfJobsNamed("one runByCronBulk")).toBe(3);
    expect(calls.map((j) => j.args)).toEqual(['[{"key":"s"}]', '[{"key":"t"}]', '[{"key":"u"}]']);

    happened = fault();
    const cron = await service.createCron({
      name: "one createCron",
      model: "lost",
      function: "effect",
      args: [{ key: "c" }],
    });
    await happened;
    expect(await count(db, "ir_cron", "name = ?", ["one createCron"])).toBe(1);
    expect(cron.id).toBeGreaterThan(0);
    if (proxy) expect(proxy.cuts).toBe(5);
  });

  it("a batch whose COMMIT reply is lost runs and records each of its jobs once", async () => {
    const jobs = new JobQueue(db.dataSource, { registry });
    const keys = Array.from({ length: 6 }, (_, i) => `batch-${i}`);
    for (const key of keys) await jobs.enqueue("lost.effect", { kwargs: { key } });
    const dispatcher = new Dispatcher(client, registry, {
      logger: memoryLogger(),
      batchSize: 10,
      batchMaxMs: 10_000,
      ...budget,
    });
    // PostgreSQL: the COMMIT of the transaction that opened a job's savepoint (the batch's), not the claim's.
    const happened = proxy ? proxy.cutNextCommit("reply-lost", /SAVEPOINT hrp_job_/) : fault();
    const results = await dispatcher.runDue();
    await happened;
    expect(results.filter((r) => r.outcome === "done")).toHaveLength(keys.length);
    for (const key of keys) expect(invocations.get(key)).toBe(1);
    expect(await count(db, "test_effect")).toBe(keys.length);
    expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(keys.length);
    expect(await count(db, "hrp_cron_runs")).toBe(keys.length);
    expect(await count(db, "hrp_cron_job", "state = 'done'")).toBe(keys.length);
    expect(await countClaims(db)).toBe(0);
  });

  if (kind === "postgres") {
    it("a COMMIT that never reached the server is retried: one write", async () => {
      const jobs = new JobQueue(client, { registry, logger: memoryLogger(), ...budget });
      const happened = proxy!.cutNextCommit("never-sent");
      await jobs.enqueue("lost.effect", { kwargs: { key: "n" }, jobName: "never sent" });
      await happened;
      expect(await jobsNamed("never sent")).toBe(1);
    });

    it("when the database cannot be asked whether it committed, the call says so with CommitOutcomeUnknownError and writes at most once", async () => {
      const jobs = new JobQueue(client, {
        registry,
        logger: memoryLogger(),
        transientRetryBudgetMs: 400,
        transientRetryMaxDelayMs: 100,
      });
      const happened = proxy!.cutNextCommit("reply-lost");
      void happened.then(() => proxy!.refuse(true)); // the database now looks down to this client
      const error = await jobs
        .enqueue("lost.effect", { kwargs: { key: "u" }, jobName: "unknown outcome", queue: "short" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
      const unknown = error as CommitOutcomeUnknownError;
      expect(unknown.code).toBe("COMMIT_UNKNOWN");
      expect(unknown.written).toBe("unknown");
      expect(unknown.context).toMatchObject({
        operation: "enqueue",
        method: "lost.effect",
        queue: "short",
        written: "unknown",
      });
      expect(unknown.transactionId).toMatch(/^\d+$/);
      expect(await jobsNamed("unknown outcome")).toBe(1); // it did commit: once, never twice
      proxy!.refuse(false);
    });
  }
});
