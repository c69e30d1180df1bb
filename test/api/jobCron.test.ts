import {
  CurrentlyRunningError,
  Dispatcher,
  HrpCronJobService,
  InvalidStateError,
  ModelRegistry,
  NotFoundError,
  JobQueue,
  type HrpCronJob,
  type JobEnv,
} from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { snapshotTables } from "../tableSnapshot";

/**
 * The `ir_cron` row of a `runByCron` job is the seed's record of the call;
 * the job row is what runs (migration 0014). Operator actions on that cron
 * act on its job: `runNow` runs it, `trigger` makes it due now; deactivating
 * or deleting the cron of a pending job would silently not stop it, so both
 * are refused (cancel the job) and write nothing. A queue job has no
 * `ir_cron` row at all.
 */
describe.each(BACKENDS)("the ir_cron row of a job on %s", (kind) => {
  let db: TestDb;
  let service: HrpCronJobService;
  let registry: ModelRegistry;
  const clock = fixedClock("2026-06-01T08:00:00Z");
  const later = new Date("2026-06-01T09:00:00Z");

  beforeEach(async () => {
    clock.set("2026-06-01T08:00:00Z");
    db = await openTestDb(kind);
    registry = new ModelRegistry().register("app.jc", {
      async effect(env: JobEnv, key: string) {
        await env.manager.insert(TestEffect, { key, uid: env.uid, note: null });
      },
    });
    service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
  });
  afterEach(() => db.close());

  const dispatcher = () => new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });

  it("deactivating or deleting the cron of a pending job is refused and writes nothing", async () => {
    const job = await service.runByCron("later", "app.jc", "effect", ["later"], 10, undefined, later);
    const cron = await service.getJobCron(job.id);
    const before = await snapshotTables(db);
    await expect(service.setActive(cron.id, false)).rejects.toThrow(InvalidStateError);
    await expect(service.setActive(cron.id, false)).rejects.toThrow(
      new RegExp(`belongs to job ${job.id}, which is pending: cancel the job`),
    );
    await expect(service.deleteCron(cron.id)).rejects.toThrow(InvalidStateError);
    expect(await snapshotTables(db)).toEqual(before);
    // Once the job is cancelled, its record may be deactivated (it is already) and deleted.
    await service.cancelJob(job.id);
    expect((await service.setActive(cron.id, false)).active).toBe(false);
    await service.deleteCron(cron.id);
    await expect(service.getJobCron(job.id)).rejects.toThrow(NotFoundError);
  });

  it("trigger makes the pending job due now; runNow runs it; each once", async () => {
    const a = await service.runByCron("a", "app.jc", "effect", ["a"], 10, undefined, later);
    const b = await service.runByCron("b", "app.jc", "effect", ["b"], 10, undefined, later);
    expect(await dispatcher().runDue()).toEqual([]);
    await service.trigger((await service.getJobCron(a.id)).id);
    expect((await service.getJob(a.id)).nextcall).toEqual(clock.now());
    expect(await dispatcher().runDue()).toMatchObject([{ jobId: a.id, outcome: "done" }]);
    const cronB = await service.getJobCron(b.id);
    expect(await dispatcher().runNow(cronB.id)).toMatchObject({ jobId: b.id, cronId: cronB.id, outcome: "done" });
    await expect(dispatcher().runNow(cronB.id)).rejects.toThrow(InvalidStateError);
    clock.set(later);
    expect(await dispatcher().runDue()).toEqual([]);
    expect(await count(db, "test_effect")).toBe(2);
  });

  it("cancelling a job that a worker claims meanwhile fails with CurrentlyRunningError and writes nothing", async () => {
    const jobs = new JobQueue(db.dataSource, { registry, now: clock.now });
    const job = (await jobs.enqueue("app.jc.effect", { args: ["raced"] })) as HrpCronJob;
    // A claim in flight: it holds the job row (PostgreSQL) or the write lock (SQLite) until it commits.
    const claim = db.dataSource.createQueryRunner();
    await claim.connect();
    await claim.startTransaction();
    await claim.query(
      kind === "postgres"
        ? `UPDATE hrp_cron_job SET state = 'running', running_worker = 'elsewhere' WHERE id = $1`
        : `UPDATE hrp_cron_job SET state = 'running', running_worker = 'elsewhere' WHERE id = ?`,
      [job.id],
    );
    const cancelled = service.cancelJob(job.id).then(
      () => null,
      (error: unknown) => error,
    );
    await new Promise((r) => setTimeout(r, 200)); // the cancel waits for the claim
    await claim.commitTransaction();
    await claim.release();
    expect(await cancelled).toBeInstanceOf(CurrentlyRunningError);
    expect(await service.getJob(job.id)).toMatchObject({ state: "running", runningWorker: "elsewhere" });
  });

  it("a queue job has no ir_cron row: getJobCron says so, its runs name cron 0", async () => {
    const jobs = new JobQueue(db.dataSource, { registry, now: clock.now });
    const job = (await jobs.enqueue("app.jc.effect", { args: ["q"] })) as HrpCronJob;
    await expect(service.getJobCron(job.id)).rejects.toThrow(NotFoundError);
    expect(await dispatcher().runDue()).toMatchObject([{ jobId: job.id, cronId: 0, outcome: "done" }]);
    expect(await service.listRuns({ jobId: job.id })).toMatchObject([
      { cronId: 0, hrpCronJobId: job.id, state: "done" },
    ]);
    expect(await count(db, "ir_cron")).toBe(0);
  });
});
