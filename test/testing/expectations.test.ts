import {
  HrpCronJobService,
  JobQueue,
  ModelRegistry,
  ResUsers,
  ValidationError,
  defineJob,
  type JobEnv,
} from "../../src";
import {
  JobExpectationError,
  drain,
  enqueuedJobs,
  expectEnqueued,
  expectNotEnqueued,
  expectRun,
  runsOf,
  testClock,
  type TestClock,
} from "../../src/testing";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 15: `hrp-cron/testing`'s expectations on jobs and on the audit view's runs, and their messages. */
describe.each(BACKENDS)("expectations on %s", (kind) => {
  let db: TestDb;
  let clock: TestClock;
  let queue: JobQueue;
  let service: HrpCronJobService;
  const sendMail = defineJob("app.mail.send", async (_env: JobEnv, _kw: { to: string }) => undefined);
  const registry = new ModelRegistry().define(sendMail).register("app", {
    post(_env: JobEnv, _ids: number[]) {},
    boom() {
      throw new Error("boom: ledger closed");
    },
  });

  beforeEach(async () => {
    db = await openTestDb(kind);
    clock = testClock("2026-03-02T09:00:00Z");
    queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
  });
  afterEach(() => db.close());

  async function addUser(login: string): Promise<number> {
    const m = db.dataSource.manager;
    return (await m.save(m.create(ResUsers, { login, name: login, active: true, tz: null }))).id;
  }

  /** The JobExpectationError `work` throws (fails the test if it does not). */
  async function expectationError(work: Promise<unknown>): Promise<JobExpectationError> {
    const error = await work.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobExpectationError);
    return error as JobExpectationError;
  }

  it("finds enqueued jobs by method, arguments, kwargs, user, queue and due time, oldest first", async () => {
    const alice = await addUser("alice");
    const cron = await service.runByCron("Post", "app", "post", [[12, 13]], 10, alice, clock.in({ seconds: 30 }));
    const mail = await queue.enqueue(sendMail, { kwargs: { to: "a@example.com" }, queue: "short", delayMs: 60_000 });
    expect((await enqueuedJobs(db.dataSource)).map((j) => j.id)).toEqual([cron.id, mail.id]);
    const [posted] = await enqueuedJobs(db.dataSource, { method: "app.post" });
    expect(posted).toEqual({
      id: cron.id,
      kind: "cron",
      name: "Post",
      method: "app.post",
      args: [[12, 13]],
      userId: alice,
      queue: "default",
      priority: 10,
      runAt: new Date("2026-03-02T09:00:30Z"),
      state: "pending",
      attempts: 0,
      error: null,
    });
    const found = await expectEnqueued(db.dataSource, {
      method: "app.post",
      args: [[12, 13]],
      userId: alice,
      runAt: clock.in({ seconds: 30 }),
    });
    expect(found.id).toBe(cron.id);
    expect((await expectEnqueued(db.dataSource, { method: sendMail, kwargs: { to: "a@example.com" } })).id).toBe(
      mail.id,
    );
    await expectEnqueued(db.dataSource, { queue: "short", runAt: "2026-03-02T09:01:00Z", args: (a) => a.length === 1 });
    expect(await enqueuedJobs(db.dataSource, { method: "app.post", userId: 1 })).toEqual([]);
  });

  it("says what was enqueued instead when no job matches", async () => {
    const alice = await addUser("alice");
    const job = await service.runByCron("Post", "app", "post", [[12]], 10, alice, clock.in({ seconds: 30 }));
    await queue.enqueue(sendMail, { kwargs: { to: "a@example.com" } });
    const error = await expectationError(
      expectEnqueued(db.dataSource, { method: "app.post", userId: 1, runAt: clock.in({ seconds: 60 }) }),
    );
    expect(error.message).toBe(
      [
        'Expected a job matching { state: "pending", method: "app.post", userId: 1, runAt: 2026-03-02T09:01:00.000Z }, but none matches.',
        'Jobs whose state is "pending", and how each differs:',
        `  job ${job.id}: app.post([12]) as user ${alice}, queue default, due 2026-03-02T09:00:30.000Z, pending — userId is ${alice}, expected 1; runAt is 2026-03-02T09:00:30.000Z, expected 2026-03-02T09:01:00.000Z`,
        `  job ${job.id + 1}: app.mail.send({"to":"a@example.com"}) as user 1, queue default, due 2026-03-02T09:00:00.000Z, pending — method is "app.mail.send", expected "app.post"; runAt is 2026-03-02T09:00:00.000Z, expected 2026-03-02T09:01:00.000Z`,
      ].join("\n"),
    );
    expect(error.code).toBe("EXPECTATION_FAILED");
    const kwargs = await expectationError(
      expectEnqueued(db.dataSource, { method: sendMail, kwargs: { to: "b@example.com" } }),
    );
    expect(kwargs.message).toContain(`kwargs is {"to":"a@example.com"}, expected {"to":"b@example.com"}`);
  });

  it("says when nothing was enqueued at all, or nothing is pending any more", async () => {
    const none = await expectationError(expectEnqueued(db.dataSource, { method: "app.post" }));
    expect(none.message).toBe(
      'Expected a job matching { state: "pending", method: "app.post" }, but none matches.\n' +
        "There are no jobs at all: nothing was enqueued (or it was enqueued in a transaction that rolled back).",
    );
    const job = await queue.enqueue("app.post", { args: [[1]] });
    await drain(db.dataSource, registry, { now: clock.now });
    const done = await expectationError(expectEnqueued(db.dataSource, { method: "app.post" }));
    expect(done.message).toContain(
      `No job's state is "pending"; every job, and how each differs:\n  job ${job.id}: app.post([1])`,
    );
    expect(done.message).toContain('— state is "done", expected "pending"');
    expect((await expectEnqueued(db.dataSource, { method: "app.post", state: ["done", "failed"] })).id).toBe(job.id);
  });

  it("expectNotEnqueued passes when a rollback left no job, and lists the jobs that match otherwise", async () => {
    await db.dataSource
      .transaction(async (manager) => {
        await queue.enqueue("app.post", { args: [[7]], manager });
        throw new Error("approval refused");
      })
      .catch(() => undefined);
    await expectNotEnqueued(db.dataSource, { method: "app.post" });
    await expectNotEnqueued(db.dataSource);
    const job = await queue.enqueue("app.post", { args: [[8]] });
    const error = await expectationError(expectNotEnqueued(db.dataSource, { method: "app.post" }));
    expect(error.message).toBe(
      'Expected no job matching { state: "pending", method: "app.post" }, but 1 matches:\n' +
        `  job ${job.id}: app.post([8]) as user 1, queue default, due 2026-03-02T09:00:00.000Z, pending`,
    );
  });

  it("reads runs from the audit view with their state, user and error, and expects runs", async () => {
    const alice = await addUser("alice");
    const ok = await queue.enqueue("app.post", { args: [[1]], userId: alice });
    const bad = await queue.enqueue("app.boom", { userId: alice });
    await drain(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });
    const [okRun] = await runsOf(db.dataSource, { jobId: ok.id });
    expect([okRun.state, okRun.userId, okRun.error, okRun.hrpCronJobId]).toEqual(["done", alice, null, ok.id]);
    const [badRun] = await runsOf(db.dataSource, { jobId: bad.id });
    expect([badRun.state, badRun.userId]).toEqual(["failed", alice]);
    expect(badRun.error).toContain("boom: ledger closed");
    expect((await runsOf(db.dataSource)).map((r) => r.hrpCronJobId).sort()).toEqual([ok.id, bad.id].sort());
    expect(await runsOf(db.dataSource, { state: "failed", method: "app.post" })).toEqual([]);

    expect((await expectRun(db.dataSource, { jobId: ok.id, state: "done", userId: alice })).hrpCronJobId).toBe(ok.id);
    const error = await expectationError(expectRun(db.dataSource, { jobId: bad.id, state: "done" }));
    expect(error.message).toBe(
      `Expected a run matching { jobId: ${bad.id}, state: "done" }, but none matches.\n` +
        `Runs of { jobId: ${bad.id} }, and how each differs:\n` +
        `  run of job ${bad.id} (app.boom) as user ${alice} at 2026-03-02T09:00:00.000Z: failed (Error: boom: ledger closed) — state is "failed", expected "done"`,
    );
    const nothing = await expectationError(expectRun(db.dataSource, { method: "app.mail.send" }));
    expect(nothing.message).toContain('Nothing of { method: "app.mail.send" } ran. Every run, and how each differs:');
  });

  it("says when nothing has run at all", async () => {
    const error = await expectationError(expectRun(db.dataSource, { method: "app.post" }));
    expect(error.message).toContain(
      "Nothing has run at all (did the test drain? was the job due at the drain's clock?)",
    );
  });

  it("refuses malformed matches", async () => {
    await expect(enqueuedJobs(db.dataSource, { methd: "app.post" } as never)).rejects.toThrow(/unknown option methd/);
    await expect(enqueuedJobs(db.dataSource, { method: "post" })).rejects.toThrow(ValidationError);
    await expect(enqueuedJobs(db.dataSource, { state: "queued" } as never)).rejects.toThrow(
      /Invalid state: expected one of pending/,
    );
    await expect(enqueuedJobs(db.dataSource, { runAt: "tomorrow" })).rejects.toThrow(ValidationError);
    await expect(enqueuedJobs(db.dataSource, { args: "[1]" } as never)).rejects.toThrow(
      /Invalid args: expected an array/,
    );
    await expect(runsOf(db.dataSource, { state: "ok" } as never)).rejects.toThrow(ValidationError);
    await expect(runsOf(db.dataSource, { jobId: 0 })).rejects.toThrow(ValidationError);
  });
});
