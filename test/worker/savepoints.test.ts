import { DataSource, type DataSourceOptions, type EntitySubscriberInterface } from "typeorm";
import { Dispatcher, JobQueue, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { HrpCronJob as JobRow } from "../../src/schema/entities";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { startLateReadyProxy } from "../pgLateReadyProxy";

/**
 * The savepoints of a batch's jobs cost as few round trips as they can:
 * on PostgreSQL a job's savepoint is opened with its first statement's
 * limits and, for a batch's first 64 jobs, never released (the transaction
 * status shows whether the job left the transaction intact). Counted here in
 * statements, never timed; and every failure still undoes only its own job.
 */
describe.each(BACKENDS)("job savepoints on %s", (kind) => {
  let db: TestDb;
  let registry: ModelRegistry;
  let jobs: JobQueue;
  let statements: string[];

  const enqueue = async (method: string, key: string, extra: Record<string, unknown> = {}) =>
    (await jobs.enqueue(`sp.${method}`, { kwargs: { key }, ...extra })) as HrpCronJob;
  const effect = (key: string) => count(db, "test_effect", "effect_key = ?", [key]);
  const stateOf = async (job: HrpCronJob) =>
    (await db.dataSource.manager.findOneByOrFail(JobRow, { id: job.id })).state;
  const runDue = (options: Record<string, unknown> = {}) =>
    new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), ...options }).runDue();
  const sent = (pattern: RegExp) => statements.filter((s) => pattern.test(s)).length;

  beforeEach(async () => {
    db = await openTestDb(kind);
    statements = [];
    // Every statement any query runner sends through TypeORM (both drivers broadcast BeforeQuery).
    const spy: EntitySubscriberInterface = { beforeQuery: (event) => void statements.push(event.query.trim()) };
    db.dataSource.subscribers.push(spy);
    registry = new ModelRegistry().register("sp", {
      async write(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
      async writeThenThrow(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
        throw new Error(`boom ${kw.key}`);
      },
      async swallow(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: "duplicate" }).catch(() => undefined);
      },
      async nestedThenThrow(env: JobEnv, kw: { key: string }) {
        await env.manager.transaction(async (inner) => {
          await inner.insert(TestEffect, { key: kw.key, uid: env.uid, note: "nested" });
          throw new Error("nested failure");
        });
      },
      async leaveNestedOpen(env: JobEnv, kw: { key: string }) {
        // Opens a transaction of its own inside the job's and never ends it.
        await env.manager.queryRunner!.startTransaction();
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: "left open" });
      },
      async sleepThenWrite(env: JobEnv, kw: { key: string }) {
        await env.manager.query("SELECT pg_sleep(0.4)");
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
    });
    jobs = new JobQueue(db.dataSource, { registry });
  });
  afterEach(async () => {
    await db.close();
  });

  it("a writing job costs its savepoint and its own statement: no RELEASE on PostgreSQL, whatever the batch's size", async () => {
    const statementsFor = async (n: number) => {
      for (let i = 0; i < n; i++) await enqueue("write", `n${n}-${i}`);
      statements = [];
      // One batch whatever the machine's load (a batch that outlived batchMaxMs would split in two).
      const results = await runDue({ batchMaxMs: 600_000 });
      expect(results.map((r) => r.outcome)).toEqual(Array.from({ length: n }, () => "done"));
      return statements.length;
    };
    const ten = await statementsFor(10);
    expect(sent(/^SAVEPOINT hrp_job_/)).toBe(10);
    expect(sent(/^RELEASE SAVEPOINT hrp_job_/)).toBe(kind === "postgres" ? 0 : 10);
    const thirty = await statementsFor(30);
    // Twenty more jobs in the same single batch: only their own statements more.
    expect((thirty - ten) / 20).toBe(kind === "postgres" ? 2 : 3);
    expect(await count(db, "test_effect")).toBe(40);
  });

  it("in a batch of writers, each failing job undoes only its own writes, wherever it stands", async () => {
    const batch = [
      await enqueue("write", "w1"),
      await enqueue("writeThenThrow", "thrown", { maxRetries: 0 }),
      await enqueue("write", "w2"),
      await enqueue("swallow", "swallowed", { maxRetries: 0 }),
      await enqueue("write", "w3"),
      await enqueue("nestedThenThrow", "nested", { maxRetries: 0 }),
      await enqueue("write", "w4"),
    ];
    statements = [];
    const logger = memoryLogger();
    const results = await runDue({ logger, batchMaxMs: 600_000 });
    // All in ONE batch transaction: no failure made the batch fall back to one job per transaction.
    expect(logger.lines.some((l) => l.includes("batch failed as a whole"))).toBe(false);
    expect(sent(/^SAVEPOINT hrp_job_1\b/)).toBe(1); // a fallback would run each job alone, as hrp_job_1
    // PostgreSQL: the swallowed error aborted the job's savepoint, so the job fails and its writes roll back.
    // SQLite keeps a failed statement's error to itself: the job's other write stands.
    const swallowed = kind === "postgres" ? "failed" : "done";
    expect(results.map((r) => r.outcome)).toEqual(["done", "failed", "done", swallowed, "done", "failed", "done"]);
    expect(await Promise.all(batch.map(stateOf))).toEqual([
      "done",
      "failed",
      "done",
      swallowed,
      "done",
      "failed",
      "done",
    ]);
    expect(await Promise.all(["w1", "thrown", "w2", "swallowed", "w3", "nested", "w4"].map(effect))).toEqual([
      1,
      0,
      1,
      kind === "postgres" ? 0 : 1,
      1,
      0,
      1,
    ]);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(kind === "postgres" ? 3 : 2);
  });

  it("past the 64th job a batch releases its savepoints again, and a failure there is still isolated", async () => {
    const keys = Array.from({ length: 70 }, (_, i) => `k${i + 1}`);
    for (const key of keys) await enqueue(key === "k67" ? "writeThenThrow" : "write", key, { maxRetries: 0 });
    statements = [];
    const results = await runDue({ batchSize: 100, batchMaxMs: 600_000 });
    // ONE batch for all 70 jobs: each position's savepoint once
    expect([sent(/^SAVEPOINT hrp_job_1\b/), sent(/^SAVEPOINT hrp_job_70\b/)]).toEqual([1, 1]);
    expect(results.filter((r) => r.outcome === "failed").map((r) => r.cronId)).toHaveLength(1);
    // PostgreSQL: jobs 65 to 70 release theirs (job 67's rollback drops it in the same message, starting with
    // ROLLBACK); SQLite releases every one, after the rollback too.
    expect(sent(/^RELEASE SAVEPOINT hrp_job_/)).toBe(kind === "postgres" ? 5 : 70);
    expect(await count(db, "test_effect")).toBe(69);
    expect(await effect("k67")).toBe(0);
    expect(await count(db, "hrp_cron_job", "state = 'done'")).toBe(69);
  });

  it("a job that leaves a transaction of its own open still commits with its batch", async () => {
    const open = await enqueue("leaveNestedOpen", "left-open");
    const after = await enqueue("write", "after");
    const results = await runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done"]);
    expect([await stateOf(open), await stateOf(after), await effect("left-open"), await effect("after")]).toEqual([
      "done",
      "done",
      1,
      1,
    ]);
  });

  if (kind === "postgres") {
    it("a job that swallows a database error is recorded failed even when the session's new status arrives late", async () => {
      // The proxy delivers the ReadyForQuery after each error 50 ms late: the job has caught the error and returned
      // long before the connection learns that the transaction is aborted.
      const url = new URL(process.env.HRP_CRON_PG_URL!);
      const proxy = await startLateReadyProxy({ host: url.hostname, port: Number(url.port || 5432) }, 50);
      url.hostname = "127.0.0.1";
      url.port = String(proxy.port);
      const late = new DataSource({ ...db.options, url: url.toString() } as DataSourceOptions);
      await late.initialize();
      try {
        const batch = [
          await enqueue("write", "before"),
          await enqueue("swallow", "swallowed", { maxRetries: 0 }),
          await enqueue("write", "after"),
        ];
        const logger = memoryLogger();
        const results = await new Dispatcher(late, registry, { logger, batchMaxMs: 600_000 }).runDue();
        expect(results.map((r) => r.outcome)).toEqual(["done", "failed", "done"]);
        expect(logger.lines.some((l) => l.includes("batch failed as a whole"))).toBe(false);
        expect(await Promise.all(batch.map(stateOf))).toEqual(["done", "failed", "done"]);
        expect(await Promise.all(["before", "swallowed", "after"].map(effect))).toEqual([1, 0, 1]);
      } finally {
        await late.destroy();
        await proxy.close();
      }
    });

    it("a job's statement timeout ends with its job: the next job, with a longer one, runs a longer statement", async () => {
      const limited = await enqueue("write", "limited", { timeoutMs: 150 });
      const unlimited = await enqueue("sleepThenWrite", "unlimited"); // the queue's timeout: minutes
      const results = await runDue();
      expect(results.map((r) => r.outcome)).toEqual(["done", "done"]);
      expect([await stateOf(limited), await stateOf(unlimited), await effect("unlimited")]).toEqual([
        "done",
        "done",
        1,
      ]);
    });
  }
});
