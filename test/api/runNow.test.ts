import {
  Dispatcher,
  HrpCronJobService,
  InvalidStateError,
  JobAdmin,
  ModelRegistry,
  NotFoundError,
  Scheduler,
  type JobEnv,
} from "../../src";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * "Run now" that does not move the schedule (bull-board #363): one extra run
 * of a recurring cron or a Scheduled Job Type, as a one-shot job, leaving
 * the cron's nextcall / the type's last_execution as they were.
 */
describe.each(BACKENDS)("run now without moving the schedule on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  const calls: unknown[][] = [];
  const registry = new ModelRegistry().register("app.tasks", {
    async nightly(env: JobEnv, ...args: unknown[]) {
      calls.push([env.uid, ...args]);
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set(new Date("2026-12-01T08:00:00Z"));
    calls.length = 0;
  });
  afterEach(() => db.close());

  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });
  const dispatcher = () => new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });

  it("runs a cron's method once more now, with its arguments and user, and keeps nextcall, active and lastcall", async () => {
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const cron = await service.createCron({
      name: "nightly ledger",
      model: "app.tasks",
      function: "nightly",
      args: [7, "x"],
      cronExpression: "0 2 * * *",
      timeZone: "Asia/Shanghai",
    });
    await service.setActive(cron.id, false, { by: "ops", reason: "holiday" });
    const before = await admin().getCron(cron.id);

    const job = await admin().runCronNow(cron.id, { by: "li.na", source: "dashboard", reason: "month end" });
    expect(job).toMatchObject({ model: "app.tasks", function: "nightly", args: '[7,"x"]', state: "pending" });
    expect(job.dateCreated).toEqual(clock.now());
    const after = await admin().getCron(cron.id);
    expect(after.nextcall).toEqual(before.nextcall);
    expect(after.active).toBe(false);
    expect(after.plannedNextcall).toBeNull();

    const [run] = await dispatcher().runDue();
    expect(run.outcome).toBe("done");
    expect(calls).toEqual([[1, 7, "x"]]);
    const ran = await admin().getCron(cron.id);
    expect([ran.nextcall, ran.lastcall, ran.active]).toEqual([before.nextcall, before.lastcall, false]);
    expect((await admin().getJob(job.id)).state).toBe("done");

    const [action] = await admin().listActions({ targetType: "cron", targetId: cron.id, limit: 1 });
    expect(action).toMatchObject({ action: "run_now", actor: "li.na", source: "dashboard", reason: "month end" });
    expect(action.outcome).toContain(`job ${job.id} runs app.tasks.nightly once now; the schedule is unchanged`);
  });

  it("refuses a cron that does not exist and the cron of a one-shot job, writing nothing", async () => {
    await expect(admin().runCronNow(999, { by: "li.na" })).rejects.toBeInstanceOf(NotFoundError);
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const job = await service.runByCron("once", "app.tasks", "nightly", []);
    const jobCron = await service.getJobCron(job.id);
    await expect(admin().runCronNow(jobCron.id, { by: "li.na" })).rejects.toBeInstanceOf(InvalidStateError);
    expect((await admin().listJobs()).map((j) => j.id)).toEqual([job.id]);
    expect(await admin().listActions()).toEqual([]);
  });

  it("runs a Scheduled Job Type once more with a Start log row, keeping last_execution and stopped", async () => {
    const scheduler = new Scheduler(db.dataSource, { registry, now: clock.now, logger: memoryLogger() });
    const type = await scheduler.createType({ method: "app.tasks.nightly", frequency: "Daily", stopped: true });
    const nextBefore = scheduler.nextRunAt(type);

    const job = await admin().runJobTypeNow(type.id, { by: "li.na", source: "dashboard" });
    expect(job).toMatchObject({ model: "app.tasks", function: "nightly", queue: "default", kind: "queue" });
    const [row] = await scheduler.listTypes();
    expect([row.lastExecution, row.lastJobId, row.stopped]).toEqual([null, null, true]);
    expect(row.nextRunAt).toEqual(nextBefore);

    await dispatcher().runDue();
    expect(calls).toEqual([[1]]);
    await scheduler.tick(); // closes the Start row (a stopped type is not enqueued)
    const logs = await db.dataSource.query(
      `SELECT status, scheduled_for, hrp_cron_job_id FROM scheduled_job_log WHERE scheduled_job_type_id = ${type.id}`,
    );
    expect(logs).toEqual([{ status: "Complete", scheduled_for: null, hrp_cron_job_id: job.id }]);
    const [action] = await admin().listActions({ targetType: "job_type", targetId: type.id, limit: 1 });
    expect(action).toMatchObject({ action: "run_now", actor: "li.na" });
    await expect(admin().runJobTypeNow(999, { by: "li.na" })).rejects.toBeInstanceOf(NotFoundError);
  });
});
