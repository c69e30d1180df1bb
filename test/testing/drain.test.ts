import {
  HrpCronJobService,
  InvalidStateError,
  JobAdmin,
  JobQueue,
  ModelRegistry,
  NotFoundError,
  ResUsers,
  ValidationError,
  type JobEnv,
} from "../../src";
import { DrainLimitError, JobsFailedError, drain, runJob, testClock, type TestClock } from "../../src/testing";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 15: `hrp-cron/testing`'s drain and runJob, driven by a test clock, on real databases. */
describe.each(BACKENDS)("drain and runJob on %s", (kind) => {
  let db: TestDb;
  let clock: TestClock;
  /** What the job methods saw: method, uid, env.now. */
  const seen: Array<{ method: string; uid: number; now: string }> = [];
  const note = (method: string, env: JobEnv) => seen.push({ method, uid: env.uid, now: env.now.toISOString() });
  const registry = new ModelRegistry().register("app", {
    async effect(env: JobEnv, key: string) {
      note("effect", env);
      await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
    },
    daily(env: JobEnv) {
      note("daily", env);
    },
    boom(env: JobEnv) {
      note("boom", env);
      throw new Error("boom: no such account");
    },
    /** Enqueues a follow-up due at once, forever. */
    async again(env: JobEnv) {
      note("again", env);
      await new JobQueue(env.manager.connection, { registry, now: clock.now }).enqueue("app.again");
    },
    /** Enqueues `app.effect` as a follow-up, `delayMs` later. */
    async chain(env: JobEnv, delayMs: number) {
      note("chain", env);
      await new JobQueue(env.manager.connection, { registry, now: clock.now }).enqueue("app.effect", {
        args: [`follow-up ${env.jobId}`],
        delayMs,
      });
    },
  });
  /** The options every drain in these tests gets: the clock, and failures kept out of the test output. */
  const quiet = () => ({ now: clock.now, logger: memoryLogger() });

  beforeEach(async () => {
    db = await openTestDb(kind);
    clock = testClock("2026-03-02T09:00:00Z");
    seen.length = 0;
  });
  afterEach(() => db.close());

  async function addUser(login: string): Promise<number> {
    const m = db.dataSource.manager;
    return (await m.save(m.create(ResUsers, { login, name: login, active: true, tz: null }))).id;
  }

  it("runs a job delayed by 30 s only once the clock has moved 30 s, without sleeping", async () => {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const queued = await queue.enqueue("app.effect", { args: ["queued"], delayMs: 30_000 });
    const scheduled = await service.runByCron("Effect", "app", "effect", ["by cron"], 10, undefined, clock.in(30_000));

    expect(await drain(db.dataSource, registry, quiet())).toEqual([]);
    clock.advance({ seconds: 29 });
    expect(await drain(db.dataSource, registry, quiet())).toEqual([]);
    clock.advance(1_000);
    const runs = await drain(db.dataSource, registry, quiet());
    expect(runs.map((r) => [r.jobId, r.method, r.outcome])).toEqual([
      [queued.id, "app.effect", "done"],
      [scheduled.id, "app.effect", "done"],
    ]);
    expect(seen.map((s) => s.now)).toEqual(["2026-03-02T09:00:30.000Z", "2026-03-02T09:00:30.000Z"]);
    expect((await db.dataSource.manager.find(TestEffect)).map((e) => e.key).sort()).toEqual(["by cron", "queued"]);
    expect(await drain(db.dataSource, registry, quiet())).toEqual([]); // done once
  });

  it("runs a recurring daily cron once per day the clock advances", async () => {
    clock.set("2026-03-02T00:00:00Z");
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const cron = await service.createCron({
      name: "Daily",
      model: "app",
      function: "daily",
      cronExpression: "0 2 * * *",
    });
    expect(await drain(db.dataSource, registry, quiet())).toEqual([]); // 02:00 is still ahead
    for (let day = 0; day < 3; day++) {
      clock.advance({ days: 1 });
      const runs = await drain(db.dataSource, registry, quiet());
      expect(runs.map((r) => [r.cronId, r.method, r.outcome, r.calls])).toEqual([[cron.id, "app.daily", "done", 1]]);
    }
    expect(seen.map((s) => s.now)).toEqual([
      "2026-03-03T00:00:00.000Z",
      "2026-03-04T00:00:00.000Z",
      "2026-03-05T00:00:00.000Z",
    ]);
    expect((await service.getCron(cron.id)).nextcall.toISOString()).toBe("2026-03-05T02:00:00.000Z");
    // Three days at once: one run with one call (Odoo's catch-up without doall), back on schedule.
    clock.advance({ days: 3 });
    const caughtUp = await drain(db.dataSource, registry, quiet());
    expect(caughtUp.map((r) => [r.cronId, r.outcome, r.calls])).toEqual([[cron.id, "done", 1]]);
    expect((await service.getCron(cron.id)).nextcall.toISOString()).toBe("2026-03-08T02:00:00.000Z");
  });

  it("runs each job as its stored user", async () => {
    const alice = await addUser("alice");
    const bob = await addUser("bob");
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    await queue.enqueue("app.effect", { args: ["alice's"], userId: alice });
    await queue.enqueue("app.effect", { args: ["bob's"], userId: bob });
    await queue.enqueue("app.effect", { args: ["admin's"] });
    const runs = await drain(db.dataSource, registry, quiet());
    expect(runs.map((r) => r.userId)).toEqual([alice, bob, 1]);
    expect(seen.map((s) => s.uid)).toEqual([alice, bob, 1]);
    const effects = await db.dataSource.manager.find(TestEffect, { order: { id: "ASC" } });
    expect(effects.map((e) => [e.key, e.uid])).toEqual([
      ["alice's", alice],
      ["bob's", bob],
      ["admin's", 1],
    ]);
  });

  it("drains follow-ups due at once in the same drain, and delayed ones once the clock reaches them", async () => {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const now = await queue.enqueue("app.chain", { args: [0] });
    const later = await queue.enqueue("app.chain", { args: [60_000] });
    const runs = await drain(db.dataSource, registry, quiet());
    expect(runs.map((r) => r.method)).toEqual(["app.chain", "app.chain", "app.effect"]);
    expect((await db.dataSource.manager.find(TestEffect)).map((e) => e.key)).toEqual([`follow-up ${now.id}`]);
    clock.advance({ minutes: 1 });
    expect((await drain(db.dataSource, registry, quiet())).map((r) => r.method)).toEqual(["app.effect"]);
    expect((await db.dataSource.manager.find(TestEffect, { order: { id: "ASC" } })).map((e) => e.key)).toEqual([
      `follow-up ${now.id}`,
      `follow-up ${later.id}`,
    ]);
  });

  it("stops a job that re-enqueues itself at once with DrainLimitError, after maxRuns runs", async () => {
    await new JobQueue(db.dataSource, { registry, now: clock.now }).enqueue("app.again");
    const error = await drain(db.dataSource, registry, { ...quiet(), maxRuns: 5 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DrainLimitError);
    const limit = error as DrainLimitError;
    expect([limit.code, limit.maxRuns, limit.runs.length, limit.stillDue]).toEqual(["DRAIN_LIMIT", 5, 5, 1]);
    expect(limit.message).toMatch(
      /^drain made 5 runs \(maxRuns\) and 1 more is still due: a job keeps making work due at once/,
    );
    expect(limit.message).toContain("most runs: app.again ×5");
    expect(limit.message).toContain("advance the test clock between drains, or raise maxRuns");
    expect(seen).toHaveLength(5);
  });

  it("returns normally when exactly maxRuns runs drain everything", async () => {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    for (const key of ["a", "b", "c"]) await queue.enqueue("app.effect", { args: [key] });
    expect(await drain(db.dataSource, registry, { ...quiet(), maxRuns: 3 })).toHaveLength(3);
  });

  it("returns failures without throwing, and throws JobsFailedError with throwOnFailure", async () => {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const failing = await queue.enqueue("app.boom");
    await queue.enqueue("app.effect", { args: ["fine"] });
    const runs = await drain(db.dataSource, registry, quiet());
    expect(runs.map((r) => [r.method, r.outcome])).toEqual([
      ["app.boom", "failed"],
      ["app.effect", "done"],
    ]);
    expect(runs[0].error).toContain("boom: no such account");

    await new JobAdmin(db.dataSource, { now: clock.now }).retryJob(failing.id);
    const error = await drain(db.dataSource, registry, { ...quiet(), throwOnFailure: true }).then(
      () => null,
      (e: unknown) => e as JobsFailedError,
    );
    expect(error).toBeInstanceOf(JobsFailedError);
    expect([error!.failed.length, error!.runs.length]).toEqual([1, 1]);
    expect(error!.message).toBe(
      `1 of 1 runs failed (throwOnFailure):\n  job ${failing.id} (app.boom, as user 1): boom: no such account\n` +
        "Their full errors are in the runs' error (and in hrp_cron_runs)",
    );
  });

  it("serves queues nobody configured, and only the named ones with `queues`", async () => {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now, workers: { reports: {} } });
    await queue.enqueue("app.effect", { args: ["report"], queue: "reports" });
    await queue.enqueue("app.effect", { args: ["short"], queue: "short" });
    expect((await drain(db.dataSource, registry, { ...quiet(), queues: ["short"] })).map((r) => r.method)).toEqual([
      "app.effect",
    ]);
    expect((await db.dataSource.manager.find(TestEffect)).map((e) => e.key)).toEqual(["short"]);
    expect(await drain(db.dataSource, registry, quiet())).toHaveLength(1);
    expect((await db.dataSource.manager.find(TestEffect)).map((e) => e.key).sort()).toEqual(["report", "short"]);
  });

  it("refuses unknown and malformed options before running anything", async () => {
    await new JobQueue(db.dataSource, { registry, now: clock.now }).enqueue("app.effect", { args: ["x"] });
    await expect(drain(db.dataSource, registry, { maxRun: 5 } as never)).rejects.toThrow(/unknown option maxRun/);
    await expect(drain(db.dataSource, registry, { maxRuns: 0 })).rejects.toThrow(ValidationError);
    await expect(drain(db.dataSource, registry, { now: "2026-03-02" } as never)).rejects.toThrow(ValidationError);
    await expect(drain(db.dataSource, registry, { throwOnFailure: "yes" } as never)).rejects.toThrow(
      /Invalid throwOnFailure: expected true or false/,
    );
    expect(seen).toEqual([]);
  });

  it("runJob runs one job now, due or not, queue job and runByCron job alike", async () => {
    const alice = await addUser("alice");
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const queued = await queue.enqueue("app.effect", { args: ["tomorrow"], delayMs: 86_400_000, userId: alice });
    const scheduled = await service.runByCron("E", "app", "effect", ["next week"], 10, alice, clock.in({ days: 7 }));
    const first = await runJob(db.dataSource, registry, queued, quiet());
    expect([first.jobId, first.cronId, first.method, first.outcome, first.userId]).toEqual([
      queued.id,
      0,
      "app.effect",
      "done",
      alice,
    ]);
    const second = await runJob(db.dataSource, registry, scheduled.id, quiet());
    expect([second.jobId, second.outcome]).toEqual([scheduled.id, "done"]);
    expect(seen.map((s) => [s.uid, s.now])).toEqual([
      [alice, "2026-03-02T09:00:00.000Z"],
      [alice, "2026-03-02T09:00:00.000Z"],
    ]);
    expect((await new JobAdmin(db.dataSource).getJob(queued.id)).state).toBe("done");
    await expect(runJob(db.dataSource, registry, queued, quiet())).rejects.toThrow(InvalidStateError);
    await expect(runJob(db.dataSource, registry, queued, quiet())).rejects.toThrow(
      `Job ${queued.id} is done: only a pending job can be run`,
    );
    await expect(runJob(db.dataSource, registry, 999, quiet())).rejects.toThrow(NotFoundError);
    expect(await drain(db.dataSource, registry, quiet())).toEqual([]); // nothing left to run
  });

  it("runJob records a failure and returns it, or throws it with throwOnFailure; a failed job must be retried first", async () => {
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    const job = await queue.enqueue("app.boom");
    const run = await runJob(db.dataSource, registry, job, quiet());
    expect([run.outcome, run.error?.split("\n")[0]]).toEqual(["failed", "boom: no such account"]);
    await expect(runJob(db.dataSource, registry, job, quiet())).rejects.toThrow(
      `Job ${job.id} is failed: only a pending job can be run; retry it first to run it again (retryJob(${job.id}))`,
    );
    await new JobAdmin(db.dataSource, { now: clock.now }).retryJob(job.id);
    await expect(runJob(db.dataSource, registry, job, { ...quiet(), throwOnFailure: true })).rejects.toThrow(
      JobsFailedError,
    );
  });
});
