import {
  Dispatcher,
  HrpCronJobService,
  HrpCronWorker,
  JobQueue,
  ModelRegistry,
  Scheduler,
  type DispatcherOptions,
  type JobEnv,
} from "../../src";
import { doctorReport } from "../../src/cli/doctor";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, countClaims, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds (or fails the test after 20 s). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (const began = Date.now(); !(await check()); await sleep(20)) {
    if (Date.now() - began > 20_000) throw new Error("condition not reached within 20 s");
  }
}

/**
 * A rolling deploy (item 13 of issue 12): the new version adds a method;
 * workers still running the old version must not fail its jobs.
 */
describe.each(BACKENDS)("rolling deploys on %s", (kind) => {
  let db: TestDb;
  let oldRegistry: ModelRegistry;
  let newRegistry: ModelRegistry;
  const dispatchers: Dispatcher[] = [];

  const note = async (env: JobEnv, key: string) => {
    await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
  };
  const dispatcher = (registry: ModelRegistry, options: DispatcherOptions = {}) => {
    const created = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), ...options });
    dispatchers.push(created);
    return created;
  };
  const jobRows = () =>
    db.dataSource.query(`SELECT function AS fn, state, attempts, worker_id FROM hrp_cron_job ORDER BY id`) as Promise<
      Array<{ fn: string; state: string; attempts: number; worker_id: string | null }>
    >;

  beforeEach(async () => {
    db = await openTestDb(kind);
    oldRegistry = new ModelRegistry().register("app.work", { note });
    newRegistry = new ModelRegistry().register("app.work", { note, fresh: note });
  });
  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
    await db.close();
  });

  it("an old worker leaves jobs of a method only new workers know to them, without counting an attempt", async () => {
    const clock = fixedClock("2026-11-23T08:00:00Z");
    const jobs = new JobQueue(db.dataSource, { registry: newRegistry, now: clock.now });
    for (const key of ["f1", "f2", "f3"]) await jobs.enqueue("app.work.fresh", { args: [key] });
    for (const key of ["n1", "n2"]) await jobs.enqueue("app.work.note", { args: [key] });

    // A new worker is live, but its clock is an hour behind: nothing is due for it yet.
    const newClock = fixedClock("2026-11-23T07:00:00Z");
    const newWorker = dispatcher(newRegistry, { now: newClock.now, pollIntervalMs: 20 });
    await newWorker.start();
    const registered = await db.dataSource.manager.findOneByOrFail(HrpCronWorker, { id: newWorker.workerId });
    expect(JSON.parse(registered.methods!)).toEqual(["app.work.fresh", "app.work.note"]);

    // The old worker (even with no grace at all) runs what it knows and leaves the rest.
    const oldWorker = dispatcher(oldRegistry, { now: clock.now, unknownMethodGraceMs: 0 });
    const results = await oldWorker.runDue();
    expect(results.map((r) => [r.function, r.outcome])).toEqual([
      ["note", "done"],
      ["note", "done"],
    ]);
    expect(await jobRows()).toEqual([
      { fn: "fresh", state: "pending", attempts: 0, worker_id: null },
      { fn: "fresh", state: "pending", attempts: 0, worker_id: null },
      { fn: "fresh", state: "pending", attempts: 0, worker_id: null },
      { fn: "note", state: "done", attempts: 1, worker_id: oldWorker.workerId },
      { fn: "note", state: "done", attempts: 1, worker_id: oldWorker.workerId },
    ]);
    expect(await count(db, "hrp_cron_runs", "function = 'fresh'")).toBe(0);
    expect(await countClaims(db, "running_worker IS NOT NULL OR unserved_since IS NOT NULL")).toBe(0);

    // The new worker's time comes: it runs them, once each.
    newClock.set("2026-11-23T08:00:00Z");
    await eventually(async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 5);
    const rows = await jobRows();
    expect(rows.filter((r) => r.fn === "fresh")).toEqual(
      Array(3).fill({ fn: "fresh", state: "done", attempts: 1, worker_id: newWorker.workerId }),
    );
    expect(await count(db, "test_effect")).toBe(5);
    expect(await count(db, "hrp_cron_run_log", "state <> 'done'")).toBe(0);
  });

  it("an old worker running its loop next to a new one leaves it the new method's jobs", async () => {
    const clock = fixedClock("2026-11-23T08:00:00Z");
    const jobs = new JobQueue(db.dataSource, { registry: newRegistry, now: clock.now });
    const newClock = fixedClock("2026-11-23T07:00:00Z");
    const newWorker = dispatcher(newRegistry, { now: newClock.now, pollIntervalMs: 20 });
    await newWorker.start();
    const oldWorker = dispatcher(oldRegistry, {
      now: clock.now,
      pollIntervalMs: 20,
      concurrency: 2,
      unknownMethodGraceMs: 0,
    });
    await oldWorker.start();
    for (let i = 0; i < 6; i++)
      await jobs.enqueue(i % 2 === 0 ? "app.work.fresh" : "app.work.note", { args: [`k${i}`] });
    await eventually(async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 3);
    await sleep(300); // the old worker keeps looking meanwhile
    expect((await jobRows()).filter((r) => r.fn === "fresh")).toEqual(
      Array(3).fill({ fn: "fresh", state: "pending", attempts: 0, worker_id: null }),
    );

    newClock.set("2026-11-23T08:00:00Z");
    await eventually(async () => (await count(db, "hrp_cron_job", "state = 'done'")) === 6);
    expect((await jobRows()).filter((r) => r.fn === "fresh").map((r) => [r.attempts, r.worker_id])).toEqual(
      Array(3).fill([1, newWorker.workerId]),
    );
    expect(await count(db, "hrp_cron_run_log", "state <> 'done'")).toBe(0);
  });

  it("a job whose method no live worker serves waits for the grace period, listed by doctor, then fails as before", async () => {
    await new JobQueue(db.dataSource, { registry: newRegistry }).enqueue("app.work.fresh", { args: ["f"] });
    const scheduler = new Scheduler(db.dataSource, { registry: oldRegistry });

    const patient = dispatcher(oldRegistry); // the default grace: 5 minutes
    expect(await patient.runDue()).toEqual([]);
    expect(await jobRows()).toEqual([{ fn: "fresh", state: "pending", attempts: 0, worker_id: null }]);
    expect(await countClaims(db, "unserved_since IS NOT NULL AND running_worker IS NULL")).toBe(1);
    const report = await doctorReport(db.dataSource, scheduler);
    expect(report).toMatch(
      /Methods no live worker serves \(their jobs wait, then fail after unknownMethodGraceMs\): 1\n.*\n.*\napp\.work\.fresh\s+1\s+/,
    );

    const brief = dispatcher(oldRegistry, { unknownMethodGraceMs: 300 });
    await sleep(350); // the grace period has passed since the job was first found unserved
    const [failed, ...rest] = await brief.runDue();
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({
      function: "fresh",
      outcome: "failed",
      error: expect.stringMatching(/^Method `app\.work\.fresh` does not exist/),
    });
    expect(await jobRows()).toEqual([{ fn: "fresh", state: "failed", attempts: 1, worker_id: brief.workerId }]);
    expect(await doctorReport(db.dataSource, scheduler)).toMatch(/Methods no live worker serves .*: 0\n/);
  });

  it("retryJob gives a job that failed for an unserved method a new grace period", async () => {
    const job = await new JobQueue(db.dataSource, { registry: newRegistry }).enqueue("app.work.fresh", { args: ["f"] });
    const brief = dispatcher(oldRegistry, { unknownMethodGraceMs: 300 });
    expect(await brief.runDue()).toEqual([]); // first found unserved
    await sleep(350);
    expect((await brief.runDue()).map((r) => r.outcome)).toEqual(["failed"]);

    await new HrpCronJobService(db.dataSource).retryJob((job as { id: number }).id);
    expect(await countClaims(db, "unserved_since IS NOT NULL")).toBe(0);
    // Still nobody serves it: it waits again instead of failing at once.
    expect(await brief.runDue()).toEqual([]);
    expect((await jobRows()).map((r) => [r.state, r.attempts])).toEqual([["pending", 0]]);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(1);
  });

  it("a worker that knows every method it claims runs them as before", async () => {
    const jobs = new JobQueue(db.dataSource, { registry: newRegistry });
    for (const key of ["a", "b", "c"]) await jobs.enqueue("app.work.note", { args: [key] });
    const results = await dispatcher(newRegistry, { unknownMethodGraceMs: 0 }).runDue();
    expect(results.map((r) => r.outcome)).toEqual(["done", "done", "done"]);
    expect(await countClaims(db, "unserved_since IS NOT NULL")).toBe(0);
  });

  it("a worker registers the methods its registry holds when it starts, not when it was made (a framework registers what it discovers in between)", async () => {
    const registry = new ModelRegistry().register("app.work", { note });
    const worker = dispatcher(registry);
    registry.register("app.late", { note });
    await worker.start();
    const registered = await db.dataSource.manager.findOneByOrFail(HrpCronWorker, { id: worker.workerId });
    expect(JSON.parse(registered.methods!)).toEqual(["app.late.note", "app.work.note"]);
  });
});
