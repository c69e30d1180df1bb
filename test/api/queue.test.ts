import {
  Dispatcher,
  HrpCronJobService,
  InvalidUserError,
  JobQueue,
  ModelRegistry,
  ResUsers,
  RetryableJobError,
  UnknownMethodError,
  UnknownQueueError,
  ValidationError,
  runAsUser,
  type HrpCronJob,
  type JobEnv,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

describe.each(BACKENDS)("queue tasks on %s", (kind) => {
  let db: TestDb;
  let registry: ModelRegistry;
  let jobs: JobQueue;
  let service: HrpCronJobService;
  let clock: ReturnType<typeof fixedClock>;
  let seen: Array<{ key: string; uid: number; attempt?: number }>;
  let failuresLeft: number;
  let release: () => void;
  let gate: Promise<void>;
  const workers = { reports: { timeoutMs: 5_000, backgroundWorkers: 4 } };

  const dispatcher = (extra: ConstructorParameters<typeof Dispatcher>[2] = {}) =>
    new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger(), workers, ...extra });

  beforeEach(async () => {
    db = await openTestDb(kind);
    clock = fixedClock("2026-11-23T08:00:00Z");
    seen = [];
    failuresLeft = 0;
    gate = new Promise((r) => (release = r));
    registry = new ModelRegistry().register("app.tasks", {
      async record(env: JobEnv, kw: { key: string }) {
        seen.push({ key: kw.key, uid: env.uid });
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
        return `recorded ${kw.key}`;
      },
      async flaky(env: JobEnv, kw: { key: string; retryInMs?: number }) {
        seen.push({ key: kw.key, uid: env.uid });
        if (failuresLeft-- > 0) {
          if (kw.retryInMs !== undefined) throw new RetryableJobError("not yet", kw.retryInMs);
          throw new Error("flaky failure");
        }
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
      async hang(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: "before hanging" });
        await gate; // ignores env.signal on purpose
      },
    });
    registry.register("hrp.asset", {
      async post(env: JobEnv, id: number, kw: { note: string }) {
        await env.manager.insert(TestEffect, { key: `asset:${id}`, uid: env.uid, note: kw.note });
      },
    });
    jobs = new JobQueue(db.dataSource, { registry, workers, now: clock.now });
    service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
  });
  afterEach(async () => {
    release();
    await db.close();
  });

  const enqueue = (key: string, o: Parameters<JobQueue["enqueue"]>[1] = {}) =>
    jobs.enqueue("app.tasks.record", { kwargs: { key }, ...o }) as Promise<HrpCronJob>;

  it("uses the queue's timeout unless the job sets one; custom queues from configuration", async () => {
    expect((await enqueue("a")).timeoutMs).toBe(300_000);
    expect((await enqueue("b", { queue: "short" })).timeoutMs).toBe(300_000);
    expect((await enqueue("c", { queue: "long" })).timeoutMs).toBe(1_500_000);
    expect((await enqueue("d", { queue: "reports" })).timeoutMs).toBe(5_000);
    const own = await enqueue("e", { queue: "long", timeoutMs: 42_000 });
    expect([own.queue, own.timeoutMs, own.kind, own.state]).toEqual(["long", 42_000, "queue", "pending"]);
  });

  it("enqueues by function reference and runs as the enqueuing user, returning through the audit tables", async () => {
    const m = db.dataSource.manager;
    const user = await m.save(m.create(ResUsers, { login: "clerk", name: "Clerk", active: true, tz: null }));
    const fnRef = (registry as unknown as { models: Map<string, Map<string, Function>> }).models
      .get("app.tasks")!
      .get("record")!;
    const job = (await runAsUser(user.id, () => jobs.enqueue(fnRef, { kwargs: { key: "ref" } }))) as HrpCronJob;
    expect(job.userId).toBe(user.id);
    const [result] = await dispatcher().runDue();
    expect(result.outcome).toBe("done");
    expect(seen).toEqual([{ key: "ref", uid: user.id }]);
    const done = await service.getJob(job.id);
    expect([done.state, done.attempts, done.workerId !== null]).toEqual(["done", 1, true]);
  });

  it("now: runs inline as the ambient user, returns the value, writes no job row", async () => {
    const value = await runAsUser(1, () => jobs.enqueue("app.tasks.record", { kwargs: { key: "inline" }, now: true }));
    expect(value).toBe("recorded inline");
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "test_effect")).toBe(1);
    expect(await jobs.enqueue("app.tasks.record", { kwargs: { key: "sync" }, isAsync: false })).toBe("recorded sync");
  });

  it("deduplicates on jobId while pending or running, not after it finished", async () => {
    const first = await enqueue("x1", { jobId: "sync-company-7", deduplicate: true });
    expect(first).not.toBeNull();
    expect(await enqueue("x2", { jobId: "sync-company-7", deduplicate: true })).toBeNull();
    await expect(enqueue("x3", { jobId: "sync-company-7" })).rejects.toThrow(
      /already pending or running; pass deduplicate/,
    );

    // While running (the method waits on a gate).
    registry.register("app.tasks", {
      async record(env: JobEnv, kw: { key: string }) {
        seen.push({ key: kw.key, uid: env.uid });
        await gate;
      },
    });
    const d = dispatcher();
    const running = d.runDue();
    for (let i = 0; i < 200 && (await service.getJob(first!.id)).state !== "running"; i++)
      await new Promise((r) => setTimeout(r, 10));
    if (kind === "postgres") {
      // (On SQLite the run holds the write lock, so an enqueue would simply wait for it.)
      expect(await enqueue("x4", { jobId: "sync-company-7", deduplicate: true })).toBeNull();
    }
    release();
    await running;
    expect((await service.getJob(first!.id)).state).toBe("done");
    expect(await enqueue("x5", { jobId: "sync-company-7", deduplicate: true })).not.toBeNull();
  });

  it("atFront puts a job before everything already waiting at its priority", async () => {
    await enqueue("a");
    await enqueue("b");
    await enqueue("c", { atFront: true });
    await dispatcher().runDue();
    expect(seen.map((s) => s.key)).toEqual(["c", "a", "b"]);
  });

  it("runAt and delayMs hold a job pending until its time; enqueueBulk takes them per job", async () => {
    // "Create the account move 30 seconds from now": the job waits, then runs at its time.
    const later = await enqueue("in-30s", { delayMs: 30_000 });
    await enqueue("at-09", { runAt: "2026-11-23T09:00:00+00:00" });
    await jobs.enqueueBulk([
      { method: "app.tasks.record", options: { kwargs: { key: "bulk-now" } } },
      { method: "app.tasks.record", options: { kwargs: { key: "bulk-10m" }, delayMs: 600_000 } },
    ]);
    expect(later.state).toBe("pending");
    expect((await dispatcher().runDue()).length).toBe(1);
    expect(seen.map((s) => s.key)).toEqual(["bulk-now"]);
    clock.advance(29_999);
    expect(await dispatcher().runDue()).toEqual([]);
    clock.advance(1);
    await dispatcher().runDue();
    clock.set("2026-11-23T08:10:00Z");
    await dispatcher().runDue();
    clock.set("2026-11-23T09:00:00Z");
    await dispatcher().runDue();
    expect(seen.map((s) => s.key)).toEqual(["bulk-now", "in-30s", "bulk-10m", "at-09"]);
  });

  it("refuses a bad runAt or delayMs, or one combined with another start, and writes nothing", async () => {
    const refused: Array<[Parameters<JobQueue["enqueue"]>[1], RegExp]> = [
      [{ delayMs: -1 }, /delayMs: expected an integer from 0/],
      [{ delayMs: 1.5 }, /delayMs: expected an integer/],
      [{ runAt: "tomorrow" }, /runAt: expected a valid Date or an ISO-8601 string/],
      [{ runAt: new Date(Number.NaN) }, /runAt: expected a valid Date/],
      [{ runAt: new Date("+010000-01-01T00:00:00Z") }, /runAt: .* outside the supported range/],
      [{ runAt: new Date(), delayMs: 5 }, /give either runAt or delayMs/],
      [{ delayMs: 5, atFront: true }, /cannot be combined with atFront/],
      [{ delayMs: 5, now: true } as never, /cannot be combined with an inline run/],
    ];
    for (const [options, message] of refused) {
      const error = await enqueue("bad", options).catch((e: unknown) => e);
      expect([options, error]).toEqual([options, expect.any(ValidationError)]);
      expect(String(error)).toMatch(message);
    }
    await expect(
      jobs.enqueueBulk([{ method: "app.tasks.record", options: { kwargs: { key: "b" }, delayMs: -5 } }]),
    ).rejects.toThrow(/jobs\[0\]\.options\.delayMs/);
    expect(await count(db, "hrp_cron_job")).toBe(0);
  });

  it("stores a job's return value with its success; getJobResult reads it back parsed", async () => {
    registry.register("app.results", {
      async summary(env: JobEnv, kw: { month: string }) {
        await env.manager.insert(TestEffect, { key: kw.month, uid: env.uid, note: null });
        return { month: kw.month, rows: 3, at: new Date("2026-11-23T08:00:00Z") };
      },
      nothing() {},
      huge: () => "x".repeat(70_000),
      bigint: () => ({ n: BigInt(1) }),
    });
    const made = (await jobs.enqueue("app.results.summary", { kwargs: { month: "2026-11" } })) as HrpCronJob;
    const none = (await jobs.enqueue("app.results.nothing")) as HrpCronJob;
    await expect(jobs.getJobResult(made.id)).rejects.toThrow(/Job \d+ is pending: it has no result yet/);
    await dispatcher().runDue();
    expect(await jobs.getJobResult(made.id)).toEqual({ month: "2026-11", rows: 3, at: "2026-11-23T08:00:00.000Z" });
    expect(await service.getJobResult(none.id)).toBeNull();
    expect((await service.getJob(made.id)).result).toBe('{"month":"2026-11","rows":3,"at":"2026-11-23T08:00:00.000Z"}');

    // A value that cannot be stored fails the run, its writes rolled back, with a message that says what to do.
    const huge = (await jobs.enqueue("app.results.huge")) as HrpCronJob;
    const bigint = (await jobs.enqueue("app.results.bigint")) as HrpCronJob;
    expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["failed", "failed"]);
    expect((await service.getJob(huge.id)).excInfo).toMatch(
      /JobResultError: The job's return value is 70002 bytes of JSON, over maxResultBytes \(65536\)/,
    );
    expect((await service.getJob(bigint.id)).excInfo).toMatch(
      /JobResultError: The job's return value cannot be stored as JSON/,
    );
    await expect(jobs.getJobResult(huge.id)).rejects.toThrow(/is failed: it has no result/);
    await expect(jobs.getJobResult(999)).rejects.toThrow(/999/);
    // A larger cap lets it through.
    await service.retryJob(huge.id);
    await dispatcher({ maxResultBytes: 100_000 }).runDue();
    expect(((await jobs.getJobResult(huge.id)) as string).length).toBe(70_000);
  });

  it("joins the caller's transaction: kept on commit, dropped on rollback", async () => {
    await db.dataSource.transaction((manager) => enqueue("committed", { manager, enqueueAfterCommit: true }));
    await expect(
      db.dataSource.transaction(async (manager) => {
        await enqueue("rolled-back", { manager, enqueueAfterCommit: true });
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    expect((await service.listJobs()).map((j) => j.args)).toEqual([JSON.stringify([{ key: "committed" }])]);
  });

  it("a job over its timeout is abandoned, rolled back and failed; the worker goes on", async () => {
    const slow = (await jobs.enqueue("app.tasks.hang", { kwargs: { key: "slow" }, timeoutMs: 200 })) as HrpCronJob;
    await enqueue("after");
    const results = await dispatcher().runDue();
    expect(results.map((r) => r.outcome)).toEqual(["failed", "done"]);
    const failed = await service.getJob(slow.id);
    expect(failed.state).toBe("failed");
    expect(failed.excInfo).toMatch(/timed out after 0\.2 s/);
    expect((await db.dataSource.manager.find(TestEffect)).map((e) => e.key)).toEqual(["after"]); // "before hanging" rolled back
    release(); // the abandoned method resumes; its transaction is gone, nothing more is written
    await new Promise((r) => setTimeout(r, 100));
    expect(await count(db, "test_effect")).toBe(1);
  });

  it("consumes its queues in order of preference and leaves other queues alone", async () => {
    await enqueue("default-1");
    await enqueue("long-1", { queue: "long" });
    await enqueue("short-1", { queue: "short" });
    await enqueue("default-2");
    const results = await dispatcher({ queues: ["short", "default"] }).runDue();
    expect(seen.map((s) => s.key)).toEqual(["short-1", "default-1", "default-2"]);
    expect(results).toHaveLength(3);
    expect(await count(db, "hrp_cron_job", "state = 'pending'")).toBe(1);
    expect(() => dispatcher({ queues: ["shrot"] })).toThrow(UnknownQueueError);
  });

  it("retries with the backoff, as the same user every time, then succeeds", async () => {
    const m = db.dataSource.manager;
    const user = await m.save(m.create(ResUsers, { login: "nurse", name: "Nurse", active: true, tz: null }));
    failuresLeft = 2;
    const job = (await runAsUser(user.id, () =>
      jobs.enqueue("app.tasks.flaky", { kwargs: { key: "f" }, maxRetries: 3, retryBackoffMs: [1_000, 5_000] }),
    )) as HrpCronJob;
    const d = dispatcher();
    expect((await d.runDue()).map((r) => r.outcome)).toEqual(["failed"]);
    let state = await service.getJob(job.id);
    expect([state.state, state.attempts]).toEqual(["pending", 1]);
    expect(state.excInfo).toMatch(/flaky failure/);
    clock.advance(999);
    expect(await d.runDue()).toEqual([]); // backoff not over
    clock.advance(1);
    expect((await d.runDue()).map((r) => r.outcome)).toEqual(["failed"]);
    clock.advance(4_999);
    expect(await d.runDue()).toEqual([]);
    clock.advance(1);
    expect((await d.runDue()).map((r) => r.outcome)).toEqual(["done"]);
    state = await service.getJob(job.id);
    expect([state.state, state.attempts]).toEqual(["done", 3]);
    expect(seen.map((s) => s.uid)).toEqual([user.id, user.id, user.id]); // never Administrator
  });

  it("a RetryableJobError sets its own delay; without retries left the job fails", async () => {
    failuresLeft = 5;
    const job = (await jobs.enqueue("app.tasks.flaky", {
      kwargs: { key: "r", retryInMs: 30_000 },
      maxRetries: 1,
    })) as HrpCronJob;
    const d = dispatcher();
    await d.runDue();
    expect((await service.getJob(job.id)).nextcall).toEqual(new Date(clock.now().getTime() + 30_000));
    clock.advance(30_000);
    await d.runDue();
    const failed = await service.getJob(job.id);
    expect([failed.state, failed.attempts]).toEqual(["failed", 2]);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(2);
  });

  it("cancel a queued job, stop a running one, retry a failed one", async () => {
    const queued = await enqueue("q");
    await service.cancelJob(queued.id);
    expect(await dispatcher().runDue()).toEqual([]);

    const long = (await jobs.enqueue("app.tasks.hang", { kwargs: { key: "stop-me" } })) as HrpCronJob;
    await expect(jobs.stopJob(long.id)).rejects.toThrow(/not running; cancel a pending job/);
    const d = dispatcher({ heartbeatIntervalMs: 30, pollIntervalMs: 20 });
    await d.start();
    try {
      for (let i = 0; i < 200 && (await service.getJob(long.id)).state !== "running"; i++)
        await new Promise((r) => setTimeout(r, 10));
      await jobs.stopJob(long.id);
      for (let i = 0; i < 300 && (await service.getJob(long.id)).state === "running"; i++)
        await new Promise((r) => setTimeout(r, 10));
    } finally {
      await d.stop();
    }
    const stopped = await service.getJob(long.id);
    expect(stopped.state).toBe("stopped");
    expect(await count(db, "test_effect")).toBe(0); // its write rolled back
    expect(await count(db, "hrp_cron_run_log", "state = 'stopped'")).toBe(1);

    failuresLeft = 1;
    const failing = (await jobs.enqueue("app.tasks.flaky", { kwargs: { key: "again" } })) as HrpCronJob;
    await dispatcher().runDue();
    expect((await service.getJob(failing.id)).state).toBe("failed");
    await service.retryJob(failing.id);
    await dispatcher().runDue();
    expect((await service.getJob(failing.id)).state).toBe("done");
  });

  it("onSuccess gets the result in the job's transaction; onFailure runs once, after the last retry", async () => {
    const events: string[] = [];
    registry.register("app.hooks", {
      async done(env: JobEnv, info: { jobId: number; result: unknown }) {
        events.push(`success ${info.jobId} ${JSON.stringify(info.result)} uid=${env.uid}`);
        await env.manager.insert(TestEffect, { key: `hook:${info.jobId}`, uid: env.uid, note: null });
      },
      async failed(env: JobEnv, info: { jobId: number; error: string }) {
        events.push(`failure ${info.jobId} ${info.error}`);
      },
    });
    const ok = (await enqueue("cb", { onSuccess: "app.hooks.done", onFailure: "app.hooks.failed" })) as HrpCronJob;
    failuresLeft = 5;
    const bad = (await jobs.enqueue("app.tasks.flaky", {
      kwargs: { key: "cb2" },
      maxRetries: 1,
      retryBackoffMs: [0],
      onFailure: "app.hooks.failed",
    })) as HrpCronJob;
    const d = dispatcher();
    await d.runDue();
    await d.runDue();
    expect(events).toEqual([`success ${ok.id} "recorded cb" uid=1`, `failure ${bad.id} flaky failure`]);
    expect(await count(db, "test_effect", "effect_key = ?", [`hook:${ok.id}`])).toBe(1);
    await expect(enqueue("x", { onSuccess: "app.hooks.nope" })).rejects.toBeInstanceOf(UnknownMethodError);
  });

  it("enqueueBulk writes many jobs at once, in order, each as its user; they run like enqueued ones", async () => {
    const approver = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login: "bulk", name: "Bulk", active: true, tz: null }),
    );
    const saved = await jobs.enqueueBulk([
      { method: "app.tasks.record", options: { kwargs: { key: "b1" } } },
      {
        method: "app.tasks.record",
        options: { kwargs: { key: "b2" }, queue: "short", priority: 3, userId: approver.id },
      },
      { method: "app.tasks.record", options: { kwargs: { key: "b3" }, atFront: true } },
    ]);
    expect(saved.map((j) => [j.queue, j.priority, j.userId, j.state, j.kind])).toEqual([
      ["default", 10, 1, "pending", "queue"],
      ["short", 3, approver.id, "pending", "queue"],
      ["default", 10, 1, "pending", "queue"],
    ]);
    expect(new Set(saved.map((j) => j.id)).size).toBe(3);
    for (const job of saved) expect((await service.getJob(job.id)).args).toBe(job.args); // each id matches its own row
    await dispatcher().runDue();
    expect(seen.map((x) => x.key)).toEqual(["b2", "b3", "b1"]); // short first, then at-front before the rest
    expect(seen.find((x) => x.key === "b2")?.uid).toBe(approver.id);
  });

  it("enqueueBulk refuses a bad job before writing any", async () => {
    await expect(
      jobs.enqueueBulk([
        { method: "app.tasks.record", options: { kwargs: { key: "ok" } } },
        { method: "app.tasks.nope" },
      ]),
    ).rejects.toBeInstanceOf(UnknownMethodError);
    await expect(jobs.enqueueBulk([{ method: "app.tasks.record", options: { queue: "nope" } }])).rejects.toBeInstanceOf(
      UnknownQueueError,
    );
    await expect(jobs.enqueueBulk([{ method: "app.tasks.record", options: { jobId: "k" } }])).rejects.toThrow(
      /not supported by enqueueBulk/,
    );
    await expect(jobs.enqueueBulk([{ method: "app.tasks.record", options: { userId: 999 } }])).rejects.toBeInstanceOf(
      InvalidUserError,
    );
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "ir_cron")).toBe(0);
  });

  it("enqueueDoc runs a model method on one record, on the long queue with its timeout", async () => {
    const job = (await jobs.enqueueDoc("hrp.asset", 42, "post", { kwargs: { note: "received" } })) as HrpCronJob;
    expect([job.queue, job.timeoutMs, job.name]).toEqual(["long", 1_500_000, "hrp.asset.post(42)"]);
    await dispatcher().runDue();
    expect(await db.dataSource.manager.find(TestEffect)).toMatchObject([{ key: "asset:42", note: "received" }]);
  });

  it("refuses bad input with a clear error and writes nothing", async () => {
    const m = db.dataSource.manager;
    const inactive = await m.save(m.create(ResUsers, { login: "gone", name: "Gone", active: false, tz: null }));
    const bad: Array<[() => Promise<unknown>, unknown]> = [
      [() => jobs.enqueue("app.tasks.nope"), UnknownMethodError],
      [() => jobs.enqueue("nodots"), ValidationError],
      [() => jobs.enqueue(function unregistered() {}), ValidationError],
      [() => enqueue("q", { queue: "nonexistent" }), UnknownQueueError],
      [() => jobs.enqueue("app.tasks.record", { kwargs: { f: () => 1 } }), ValidationError],
      [() => jobs.enqueue("app.tasks.record", { args: [1], kwargs: {} }), ValidationError],
      [() => enqueue("q", { priority: 1.5 }), ValidationError],
      [() => enqueue("q", { timeoutMs: 0 }), ValidationError],
      [() => enqueue("q", { maxRetries: -1 }), ValidationError],
      [() => enqueue("q", { retryBackoffMs: [] }), ValidationError],
      [() => enqueue("q", { concurrencyLimit: 2 }), ValidationError],
      [() => enqueue("q", { concurrencyKey: "k", concurrencyLimit: 0 }), ValidationError],
      [() => enqueue("q", { deduplicate: true }), ValidationError],
      [() => enqueue("q", { enqueueAfterCommit: true }), ValidationError],
      [() => enqueue("q", { userId: 999 }), InvalidUserError],
      [() => enqueue("q", { userId: inactive.id }), InvalidUserError],
      [() => jobs.enqueueDoc("hrp.asset", 1, "missing"), UnknownMethodError],
      [() => jobs.enqueueDoc("hrp.asset", 1.5, "post"), ValidationError],
    ];
    for (const [call, type] of bad) await expect(call()).rejects.toBeInstanceOf(type);
    expect(() => new JobQueue(db.dataSource, { registry, workers: { "bad name!": { timeoutMs: 1 } } })).toThrow(
      ValidationError,
    );
    expect(() => new JobQueue(db.dataSource, { registry, workers: { q: { timeoutMs: -5 } } })).toThrow(
      /workers\.q\.timeoutMs/,
    );
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "ir_cron")).toBe(0);
    expect(await count(db, "test_effect")).toBe(0);
  });
});
