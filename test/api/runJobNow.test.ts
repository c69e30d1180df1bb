import {
  Dispatcher,
  HrpCronJobService,
  InvalidStateError,
  JobAdmin,
  JobQueue,
  ModelRegistry,
  ValidationError,
  type HrpCronJob,
} from "../../src";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** "Run now" of a delayed job (JobAdmin.runJobNow), queue latency (queueDelays) and the action log's job, queue and keyset filters. */
describe.each(BACKENDS)("run now, queue delays and action filters on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  const registry = new ModelRegistry().register("app.tasks", {
    async ok() {
      return "ok";
    },
    async boom() {
      throw new Error("boom");
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set("2026-12-01T08:00:00Z");
  });
  afterEach(() => db.close());

  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });
  const queue = () => new JobQueue(db.dataSource, { registry, now: clock.now });
  const dispatcher = () => new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), now: clock.now });
  const operator = {
    by: "li.na",
    source: "dashboard",
    ip: "10.1.2.3",
    userAgent: "Firefox",
    reason: "patient waits",
  } as const;

  it("makes a delayed job due now, keeps its planned date and records run_now in the same transaction", async () => {
    const job = (await queue().enqueue("app.tasks.ok", { delayMs: 3_600_000 })) as HrpCronJob;
    expect(await dispatcher().runDue()).toEqual([]); // not due for an hour
    clock.advance(1000);
    const now = await admin().runJobNow(job.id, operator);
    expect(now.state).toBe("pending");
    expect(now.nextcall).toEqual(clock.now());
    expect(now.dateCreated).toEqual(job.dateCreated);
    const [row] = await admin().listActions();
    expect(row).toMatchObject({
      action: "run_now",
      targetType: "job",
      targetId: job.id,
      actor: "li.na",
      source: "dashboard",
      ip: "10.1.2.3",
      userAgent: "Firefox",
      reason: "patient waits",
      affected: 1,
    });
    expect(row.outcome).toContain(`job ${job.id} is due now`);
    expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done"]);
  });

  it("moves a runByCron job's ir_cron record with it", async () => {
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const job = await service.runByCron({
      name: "Post tomorrow",
      model: "app.tasks",
      function: "ok",
      dateCreated: new Date("2026-12-02T00:00:00Z"),
    });
    await admin().runJobNow(job.id);
    const cron = await admin().getJobCron(job.id);
    expect(cron.nextcall).toEqual(clock.now());
    expect((await dispatcher().runDue()).map((r) => r.outcome)).toEqual(["done"]);
  });

  it("refuses a job that is already due, failed or unknown, writing nothing", async () => {
    const due = (await queue().enqueue("app.tasks.boom")) as HrpCronJob;
    await expect(admin().runJobNow(due.id, operator)).rejects.toThrow(InvalidStateError);
    await expect(admin().runJobNow(due.id)).rejects.toThrow(/already due/);
    await dispatcher().runDue();
    await expect(admin().runJobNow(due.id)).rejects.toThrow(/is failed; only pending jobs can be run now/);
    await expect(admin().runJobNow(999)).rejects.toThrow(/999/);
    await expect(admin().runJobNow(0)).rejects.toThrow(ValidationError);
    expect(await admin().listActions()).toEqual([]);
  });

  it("says since when each queue's oldest due work waits, and each key's limit", async () => {
    await queue().enqueue("app.tasks.ok", { queue: "long" });
    clock.advance(5000);
    await queue().enqueue("app.tasks.ok", { queue: "long" });
    await queue().enqueue("app.tasks.ok", { delayMs: 60_000 });
    await queue().enqueue("app.tasks.ok", { concurrencyKey: "patient:7", concurrencyLimit: 2, delayMs: 1000 });
    clock.advance(5000);
    const delays = await admin().queueDelays();
    // (Where a null key sorts differs between the databases, as in stats().)
    expect(delays).toHaveLength(3);
    expect(delays).toEqual(
      expect.arrayContaining([
        { queue: "default", concurrencyKey: null, oldestDue: null, limit: null },
        { queue: "default", concurrencyKey: "patient:7", oldestDue: new Date("2026-12-01T08:00:06Z"), limit: 2 },
        { queue: "long", concurrencyKey: null, oldestDue: new Date("2026-12-01T08:00:00Z"), limit: null },
      ]),
    );
    expect((await admin().stats()).map((s) => [s.queue, s.concurrencyKey])).toEqual(
      delays.map((d) => [d.queue, d.concurrencyKey]),
    );
  });

  it("filters the action log by job (alone or in a bulk action), by queue, and pages by keyset", async () => {
    const a = (await queue().enqueue("app.tasks.boom")) as HrpCronJob;
    const b = (await queue().enqueue("app.tasks.boom")) as HrpCronJob;
    const c = (await queue().enqueue("app.tasks.boom")) as HrpCronJob;
    await dispatcher().runDue();
    await admin().retryJob(a.id, undefined, operator);
    await admin().retryJobs({ ids: [b.id, c.id] }, {}, operator);
    await admin().pauseQueue("long", { by: "ops", reason: "maintenance" });
    await admin().pauseQueue("short", { by: "ops", reason: "maintenance" });
    await admin().resumeQueue("long", { by: "ops" });
    const actions = (f: Parameters<JobAdmin["listActions"]>[0]) =>
      admin()
        .listActions(f)
        .then((rows) => rows.map((r) => r.action));
    expect(await actions({ jobId: a.id })).toEqual(["retry"]);
    expect(await actions({ jobId: c.id })).toEqual(["bulk_retry"]);
    expect(await actions({ queue: "long" })).toEqual(["resume", "pause"]);
    const all = await admin().listActions();
    expect(all.map((r) => r.action)).toEqual(["resume", "pause", "pause", "bulk_retry", "retry"]);
    const page2 = await admin().listActions({ beforeId: all[1].id, limit: 2 });
    expect(page2.map((r) => r.id)).toEqual([all[2].id, all[3].id]);
    await expect(admin().listActions({ jobId: -1 })).rejects.toThrow(ValidationError);
    await expect(admin().listActions({ queue: "" })).rejects.toThrow(ValidationError);
  });
});
