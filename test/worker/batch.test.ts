import { DataSource, type EntitySubscriberInterface } from "typeorm";
import { Dispatcher, JobQueue, JobScopeClosedError, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * Several jobs per transaction: each job is isolated by its own savepoint,
 * so one job's failure, timeout or stop never undoes or blocks the others,
 * and a batch that cannot commit falls back to one job per transaction.
 */
describe.each(BACKENDS)("batched runs on %s", (kind) => {
  let db: TestDb;
  let registry: ModelRegistry;
  let jobs: JobQueue;
  let statements: string[];
  let late: Promise<unknown> | null;
  let other: TestDb | null = null;
  let peeked: number[] = [];
  let lateError: unknown;

  const enqueue = async (method: string, key: string, extra: Record<string, unknown> = {}) =>
    (await jobs.enqueue(`batch.${method}`, { kwargs: { key }, ...extra })) as HrpCronJob;
  const state = async (job: HrpCronJob) =>
    (
      await db.dataSource.manager.findOneByOrFail((await import("../../src/schema/entities")).HrpCronJob, {
        id: job.id,
      })
    ).state;
  const effect = (key: string) => count(db, "test_effect", "effect_key = ?", [key]);

  beforeEach(async () => {
    db = await openTestDb(kind);
    statements = [];
    late = null;
    lateError = undefined;
    // Every statement any query runner sends (both drivers broadcast BeforeQuery).
    const spy: EntitySubscriberInterface = {
      beforeQuery: (event) =>
        void statements.push(
          event.query
            .trim()
            .split(/[\s;]+/)
            .slice(0, 3)
            .join(" "),
        ),
    };
    db.dataSource.subscribers.push(spy);
    registry = new ModelRegistry().register("batch", {
      async write(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
      noop() {
        // touches nothing: no savepoint is needed
      },
      async writeThenThrow(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
        throw new Error(`boom ${kw.key}`);
      },
      async writeThenHang(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
        await new Promise((r) => setTimeout(r, 300)); // ignores env.signal, then tries to write again
        late = env.manager
          .insert(TestEffect, { key: `${kw.key}:late`, uid: env.uid, note: null })
          .catch((e: unknown) => (lateError = e));
        await late;
      },
      async nestedThenThrow(env: JobEnv, kw: { key: string }) {
        await env.manager.transaction(async (inner) => {
          await inner.insert(TestEffect, { key: kw.key, uid: env.uid, note: "nested" });
          throw new Error("nested failure");
        });
      },
      async swallow(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: "duplicate" }).catch(() => undefined);
      },
      async stealNext(env: JobEnv, kw: { key: string; jobId: number }) {
        // Stands in for recovery handing the next job's claim to another worker mid-batch.
        await env.manager.query(
          kind === "postgres"
            ? "UPDATE hrp_cron_job SET running_worker = 'elsewhere' WHERE id = $1"
            : "UPDATE hrp_cron_job SET running_worker = 'elsewhere' WHERE id = ?",
          [kw.jobId],
        );
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
      async sleepInDatabase(env: JobEnv) {
        await env.manager.query("SELECT pg_sleep(30)");
      },
      async peek(env: JobEnv, kw: { key: string }) {
        await new Promise((r) => setTimeout(r, 60));
        peeked.push(await count(other!, "test_effect", "effect_key = ?", [kw.key]));
      },
      async awaitNextRound(env: JobEnv, kw: { key: string; claimed: number }) {
        // Holds its slot until another connection sees `claimed` rows claimed or run; gives up after 5 s.
        const deadline = Date.now() + 5_000;
        while ((await count(other!, "hrp_cron_job", "running_worker IS NOT NULL OR state = 'done'")) < kw.claimed) {
          if (Date.now() > deadline) throw new Error(`never saw ${kw.claimed} rows claimed`);
          await new Promise((r) => setTimeout(r, 10));
        }
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
      async slow(env: JobEnv, kw: { key: string }) {
        await new Promise((r) => setTimeout(r, 40));
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
    });
    jobs = new JobQueue(db.dataSource, { registry });
  });
  afterEach(async () => {
    await late?.catch(() => undefined);
    if (other?.dataSource.isInitialized) await other.dataSource.destroy();
    other = null;
    await db.close();
  });

  it("runs many jobs in one transaction and opens a savepoint only for jobs that touch the database", async () => {
    await enqueue("noop", "n1");
    await enqueue("write", "w1");
    await enqueue("noop", "n2");
    await enqueue("write", "w2");
    statements = [];
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done", "done"]);
    expect(
      statements.filter((s) => /^SAVEPOINT hrp_job/.test(s)).map((s) => s.split(" ").slice(0, 2).join(" ")),
    ).toEqual(["SAVEPOINT hrp_job_2", "SAVEPOINT hrp_job_4"]);
    // register the worker, recovery, the claim, ONE run for all four jobs, the empty claim that ends runDue, unregister
    expect(statements.filter((s) => s === "COMMIT").length).toBe(6);
    expect([await effect("w1"), await effect("w2")]).toEqual([1, 1]);
    expect(await count(db, "hrp_cron_runs", "state = 'done'")).toBe(4);
    expect(
      await count(db, "hrp_cron_job", "state = 'done' AND date_started IS NOT NULL AND date_done IS NOT NULL"),
    ).toBe(4);
  });

  it("a job that fails mid-batch is rolled back alone; the jobs before and after it commit", async () => {
    const a = await enqueue("write", "a");
    const b = await enqueue("writeThenThrow", "b");
    const c = await enqueue("write", "c");
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "failed", "done"]);
    expect([await effect("a"), await effect("b"), await effect("c")]).toEqual([1, 0, 1]);
    expect([await state(a), await state(b), await state(c)]).toEqual(["done", "failed", "done"]);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed' AND error LIKE ?", ["%boom b%"])).toBe(1);
  });

  it("a job that leaves a nested transaction behind is rolled back cleanly and the batch goes on", async () => {
    await enqueue("nestedThenThrow", "nested");
    const after = await enqueue("write", "after");
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["failed", "done"]);
    expect([await effect("nested"), await effect("after"), await state(after)]).toEqual([0, 1, "done"]);
  });

  it("a job swallowing a database error cannot take the batch down", async () => {
    const bad = await enqueue("swallow", "swallowed");
    const good = await enqueue("write", "good");
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    // PostgreSQL: the failed statement aborted the job's savepoint, so the job fails and its
    // writes roll back. SQLite keeps the statement's failure to itself: the job's other write stands.
    expect(results.map((r) => r.outcome)).toEqual([kind === "postgres" ? "failed" : "done", "done"]);
    expect(await effect("swallowed")).toBe(kind === "postgres" ? 0 : 1);
    expect([await state(bad), await state(good), await effect("good")]).toEqual([
      kind === "postgres" ? "failed" : "done",
      "done",
      1,
    ]);
  });

  it("a job over its timeout is rolled back to its savepoint, its late queries are refused, the next jobs still run", async () => {
    const before = await enqueue("write", "before");
    const hung = await enqueue("writeThenHang", "hung", { timeoutMs: 100 });
    const after = await enqueue("write", "after");
    const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "failed", "done"]);
    expect(results[1].error).toMatch(/timed out after 0.1 s/);
    expect([await state(before), await state(hung), await state(after)]).toEqual(["done", "failed", "done"]);
    await new Promise((r) => setTimeout(r, 400));
    await late;
    expect(lateError).toBeInstanceOf(JobScopeClosedError);
    expect([await effect("before"), await effect("hung"), await effect("hung:late"), await effect("after")]).toEqual([
      1, 0, 0, 1,
    ]);
  });

  if (kind === "postgres") {
    it("a timed-out job's query still running in the database is cancelled by its statement timeout, so the batch goes on", async () => {
      const stuck = await enqueue("sleepInDatabase", "stuck", { timeoutMs: 300 });
      const after = await enqueue("write", "after-stuck");
      const began = Date.now();
      const results = await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
      expect(results.map((r) => r.outcome)).toEqual(["failed", "done"]);
      expect(Date.now() - began).toBeLessThan(20_000); // not the 30 s of pg_sleep
      expect([await state(stuck), await state(after), await effect("after-stuck")]).toEqual(["failed", "done", 1]);
    });
  }

  it("when another worker took a claim mid-batch, the batch rolls back and reruns one job per transaction: each effect once", async () => {
    const first = await enqueue("noop", "first");
    const thief = (await jobs.enqueue("batch.stealNext", { kwargs: { key: "thief", jobId: 0 } })) as HrpCronJob;
    const victim = await enqueue("write", "victim");
    await db.dataSource.manager.query(
      kind === "postgres"
        ? "UPDATE hrp_cron_job SET args = $1 WHERE id = $2"
        : "UPDATE hrp_cron_job SET args = ? WHERE id = ?",
      [JSON.stringify([{ key: "thief", jobId: victim.id }]), thief.id],
    );
    const logger = memoryLogger();
    const results = await new Dispatcher(db.dataSource, registry, { logger }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "skipped"]);
    expect(logger.lines.some((l) => l.includes("batch failed as a whole"))).toBe(true);
    expect([await state(first), await state(thief), await effect("thief"), await effect("victim")]).toEqual([
      "done",
      "done",
      1,
      0,
    ]);
    expect(await count(db, "hrp_cron_job", "running_worker = 'elsewhere'")).toBe(1);
  });

  it("a method known to be slow starts a batch of its own, so the quick job before it commits first", async () => {
    const second = new DataSource(db.options);
    await second.initialize();
    other = { ...db, dataSource: second };
    peeked = [];
    const dispatcher = new Dispatcher(db.dataSource, registry, { batchMaxMs: 30, logger: memoryLogger() });
    await enqueue("peek", "nothing-yet");
    await dispatcher.runDue(); // learns that batch.peek takes about 60 ms
    await enqueue("write", "quick-first");
    await enqueue("peek", "quick-first");
    expect((await dispatcher.runDue()).map((r) => r.outcome)).toEqual(["done", "done"]);
    expect(peeked).toEqual([0, 1]); // seen from another connection while the slow job ran: already committed
  });

  if (kind === "postgres") {
    it("while a backlog lasts, the next round is claimed before the claimed jobs run out, and nothing is run twice or lost", async () => {
      const second = new DataSource(db.options);
      await second.initialize();
      other = { ...db, dataSource: second };
      // Two slots, one job per slot at first: the first claim takes 4 (2 slots + one round ahead). Jobs 1 and 3 hold
      // their slots until a 5th row is claimed; only a claim made while job 4 still waits in the buffer can do that.
      await enqueue("awaitNextRound", "r1", { kwargs: { key: "r1", claimed: 5 } });
      await enqueue("write", "r2");
      await enqueue("awaitNextRound", "r3", { kwargs: { key: "r3", claimed: 5 } });
      for (const k of ["r4", "r5", "r6"]) await enqueue("write", k);
      const dispatcher = new Dispatcher(db.dataSource, registry, {
        concurrency: 2,
        pollIntervalMs: 60_000,
        logger: memoryLogger(),
      });
      await dispatcher.start();
      const deadline = Date.now() + 15_000;
      while ((await count(db, "hrp_cron_job", "state IN ('done', 'failed')")) < 6 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      await dispatcher.stop();
      expect(await count(db, "hrp_cron_job", "state = 'done'")).toBe(6);
      expect(await Promise.all(["r1", "r2", "r3", "r4", "r5", "r6"].map(effect))).toEqual([1, 1, 1, 1, 1, 1]);
      expect(await countClaims(db)).toBe(0);
    });
  }

  it("the failures of a batch are recorded together: retries, final failures and successes in one transaction, a few statements in all", async () => {
    // Bookkeeping statements of a runDue: everything but the jobs' own savepoints and writes.
    const bookkeeping = () => statements.filter((q) => !/SAVEPOINT|test_effect/.test(q)).length;
    const retry = { maxRetries: 2, retryBackoffMs: [60_000] };
    const retried = [await enqueue("writeThenThrow", "r1", retry), await enqueue("writeThenThrow", "r2", retry)];
    const final = [
      await enqueue("writeThenThrow", "f1", { maxRetries: 0 }),
      await enqueue("writeThenThrow", "f2", { maxRetries: 0 }),
      await enqueue("writeThenThrow", "f3", { maxRetries: 0 }),
    ];
    const ok = await enqueue("write", "ok");
    // One batch whatever the machine's load: a batch past batchMaxMs would split in two and double the bookkeeping.
    statements = [];
    const results = await new Dispatcher(db.dataSource, registry, {
      logger: memoryLogger(),
      batchMaxMs: 60_000,
    }).runDue();
    const fiveFailures = bookkeeping();
    expect(results.map((r) => r.outcome)).toEqual(["failed", "failed", "failed", "failed", "failed", "done"]);
    expect(await Promise.all([...retried, ...final, ok].map(state))).toEqual([
      "pending",
      "pending",
      "failed",
      "failed",
      "failed",
      "done",
    ]);
    expect(await Promise.all(["r1", "r2", "f1", "f2", "f3", "ok"].map(effect))).toEqual([0, 0, 0, 0, 0, 1]); // failed writes rolled back
    expect(await count(db, "hrp_cron_job", "exc_info LIKE '%boom%'")).toBe(5);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed' AND error LIKE '%boom%'")).toBe(5);
    // Retried jobs wait out their backoff (pending, due later); final failures are final.
    expect(await count(db, "hrp_cron_job", "state = 'pending' AND failure_count = 1 AND running_worker IS NULL")).toBe(
      2,
    );
    expect(await count(db, "hrp_cron_job", "state = 'failed' AND failure_count = 1 AND running_worker IS NULL")).toBe(
      3,
    );

    // The same kinds with one failure each: as many bookkeeping statements (recorded in bulk, not one by one).
    await enqueue("writeThenThrow", "r3", retry);
    await enqueue("writeThenThrow", "f4", { maxRetries: 0 });
    await enqueue("write", "ok2");
    statements = [];
    expect(
      (await new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), batchMaxMs: 60_000 }).runDue()).map(
        (r) => r.outcome,
      ),
    ).toEqual(["failed", "failed", "done"]);
    expect(bookkeeping()).toBe(fiveFailures);
  });

  it("a batch takes no further job after batchMaxMs; the rest run in the next transactions", async () => {
    for (const k of ["s1", "s2", "s3"]) await enqueue("slow", k);
    statements = [];
    const results = await new Dispatcher(db.dataSource, registry, { batchMaxMs: 10, logger: memoryLogger() }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done"]);
    // one claim + three run transactions (each slow job alone), plus worker registration and recovery
    const commits = statements.filter((s) => s === "COMMIT").length;
    statements = [];
    for (const k of ["t1", "t2", "t3"]) await enqueue("slow", k);
    statements = [];
    await new Dispatcher(db.dataSource, registry, { batchMaxMs: 1_000, logger: memoryLogger() }).runDue(); // all three in one batch
    expect(commits - statements.filter((s) => s === "COMMIT").length).toBe(2);
  });
});
