import { Dispatcher, HrpCronJobService, JobQueue, ModelRegistry, type HrpCronJob, type JobEnv } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * The run log of a one-shot job's success is its job row (migration 0012):
 * no `hrp_cron_run_log` row is written for it, and `hrp_cron_runs` shows
 * every run exactly once — run-log rows (recurring crons, failed attempts)
 * and done jobs alike.
 */
describe.each(BACKENDS)("hrp_cron_runs on %s", (kind) => {
  let db: TestDb;
  let failuresLeft: number;
  const clock = fixedClock("2026-11-23T08:00:00Z");

  beforeEach(async () => {
    db = await openTestDb(kind);
    failuresLeft = 1;
  });
  afterEach(() => db.close());

  const registry = () =>
    new ModelRegistry().register("app.runs", {
      async record(env: JobEnv, kw: { key: string }) {
        await env.manager.insert(TestEffect, { key: `${kw.key}:${env.now.getTime()}`, uid: env.uid, note: null });
      },
      async flaky(env: JobEnv, kw: { key: string }) {
        if (failuresLeft-- > 0) throw new Error(`flaky ${kw.key}`);
        await env.manager.insert(TestEffect, { key: kw.key, uid: env.uid, note: null });
      },
    });

  it("logs recurring runs and failed attempts, not the success of a one-shot job, and lists each run once", async () => {
    const reg = registry();
    const service = new HrpCronJobService(db.dataSource, { registry: reg, now: clock.now });
    const jobs = new JobQueue(db.dataSource, { registry: reg, now: clock.now });
    const queued = (await jobs.enqueue("app.runs.record", { kwargs: { key: "queued" } })) as HrpCronJob;
    const automated = await service.runByCron("automated", "app.runs", "record", [{ key: "automated" }]);
    const flaky = (await jobs.enqueue("app.runs.flaky", {
      kwargs: { key: "flaky" },
      maxRetries: 1,
      retryBackoffMs: [0],
    })) as HrpCronJob;
    const cron = await service.createCron({
      name: "recurring",
      model: "app.runs",
      function: "record",
      args: [{ key: "recurring" }],
      intervalNumber: 1,
      intervalType: "hours",
      nextcall: clock.now(),
    });
    const dispatcher = new Dispatcher(db.dataSource, reg, { now: clock.now, logger: memoryLogger() });
    const first = await dispatcher.runDue();
    // The flaky job fails once and is retried at once (no backoff), within the same runDue.
    expect(first.map((r) => r.outcome).sort()).toEqual(["done", "done", "done", "done", "failed"]);
    // Only the recurring cron's success has a run-log id; a job's success is its job row.
    expect(first.filter((r) => r.outcome === "done" && r.runLogId !== undefined).map((r) => r.cronId)).toEqual([
      cron.id,
    ]);
    expect(await dispatcher.runDue()).toEqual([]);

    expect(await count(db, "hrp_cron_run_log", "state = 'done'")).toBe(1); // the recurring cron's
    expect(await count(db, "hrp_cron_run_log", "state = 'done' AND hrp_cron_job_id IS NOT NULL")).toBe(0);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(1); // the flaky job's first attempt
    expect(await count(db, "hrp_cron_runs")).toBe(5);
    for (const job of [queued, automated]) {
      const done = await service.getJob(job.id);
      const [run, ...more] = await service.listRuns({ jobId: job.id });
      expect(more).toEqual([]);
      expect(run).toMatchObject({
        runLogId: null,
        hrpCronJobId: job.id,
        name: job.name,
        model: "app.runs",
        function: "record",
        userId: 1,
        workerId: dispatcher.workerId,
        calls: 1,
        state: "done",
        error: null,
      });
      expect(run.dateStart).toEqual(done.dateStarted);
      expect(run.dateEnd).toEqual(done.dateDone);
      expect(run.durationMs).toBe(done.dateDone!.getTime() - done.dateStarted!.getTime());
    }
    expect((await service.listRuns({ jobId: flaky.id })).map((r) => [r.state, r.runLogId === null])).toEqual([
      ["done", true],
      ["failed", false],
    ]);
    expect(await service.listRuns({ cronId: cron.id })).toMatchObject([
      { cronId: cron.id, hrpCronJobId: null, state: "done", calls: 1, error: null },
    ]);
    expect((await service.listRuns({ limit: 2 })).length).toBe(2);
  });
});
