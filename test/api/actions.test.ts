import {
  Dispatcher,
  HrpCronJobService,
  JobAdmin,
  JobQueue,
  ModelRegistry,
  ValidationError,
  InvalidStateError,
  type HrpCronJob,
  type JobEnv,
} from "../../src";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { snapshotTables } from "../tableSnapshot";

/** The operator action log (hrp_cron_action): one row per action, in the action's own transaction. */
describe.each(BACKENDS)("the operator action log on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-12-01T08:00:00Z");
  const registry = new ModelRegistry().register("app.tasks", {
    async boom() {
      throw new Error("boom");
    },
    async ok(env: JobEnv) {
      return env.uid;
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
    clock.set(new Date("2026-12-01T08:00:00Z"));
  });
  afterEach(() => db.close());

  const admin = () => new JobAdmin(db.dataSource, { now: clock.now });
  async function failedJob(): Promise<HrpCronJob> {
    const job = (await new JobQueue(db.dataSource, { registry }).enqueue("app.tasks.boom")) as HrpCronJob;
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
    return job;
  }

  it("records retry, cancel, stop, purge, activate and trigger with who, from where, why and what came of it", async () => {
    const job = await failedJob();
    const a = admin();
    await a.retryJob(job.id, undefined, { by: "li.na", source: "cli", reason: "bank API is back" });
    await a.cancelJob(job.id, {
      by: "li.na",
      reason: "duplicate",
      source: "dashboard",
      ip: "10.0.0.7",
      userAgent: "Firefox",
    });
    clock.set(new Date("2026-12-01T08:00:01Z")); // the cancelled job ended before now: purgeable
    await a.purgeReport({ finishedOlderThanMs: 0, dryRun: true }, { by: "ops" }); // a dry run is no action
    await a.purge({ finishedOlderThanMs: 0 }, { by: "ops", reason: "retention" });
    const service = new HrpCronJobService(db.dataSource, { registry, now: clock.now });
    const cron = await service.createCron({
      name: "nightly",
      model: "app.tasks",
      function: "ok",
      cronExpression: "0 2 * * *",
    });
    await service.setActive(cron.id, false, { by: "wang.fang", reason: "holiday" });
    await service.trigger(cron.id); // from the API, nobody named

    const actions = await a.listActions();
    expect(actions.map((x) => [x.action, x.targetType, x.targetId, x.affected, x.actor, x.source, x.reason])).toEqual([
      ["trigger", "cron", cron.id, 1, "api", "api", null],
      ["deactivate", "cron", cron.id, 1, "wang.fang", "api", "holiday"],
      ["purge", "jobs", null, 1, "ops", "api", "retention"],
      ["cancel", "job", job.id, 1, "li.na", "dashboard", "duplicate"],
      ["retry", "job", job.id, 1, "li.na", "cli", "bank API is back"],
    ]);
    expect(actions[3]).toMatchObject({
      ip: "10.0.0.7",
      userAgent: "Firefox",
      outcome: `job ${job.id} is cancelled (was pending)`,
    });
    expect(actions[4].outcome).toBe(`job ${job.id} is pending, due 2026-12-01T08:00:00.000Z`);
    expect(actions[4].createdAt.toISOString()).toBe("2026-12-01T08:00:00.000Z");
    expect(actions[2].filter).toMatchObject({ deleteFailureLogs: false });
    expect(actions[2].outcome).toBe("deleted 1 finished and 0 failed job(s); kept 1 failure log row(s)");

    // Filters: by operator, kind, target, time.
    expect((await a.listActions({ by: "li.na" })).map((x) => x.action)).toEqual(["cancel", "retry"]);
    expect((await a.listActions({ action: "purge" })).length).toBe(1);
    expect((await a.listActions({ targetType: "cron", targetId: cron.id })).length).toBe(2);
    expect((await a.listActions({ until: new Date("2026-12-01T08:00:01Z") })).map((x) => x.action)).toEqual([
      "cancel",
      "retry",
    ]);
  });

  it("records a manual run in its claim's transaction, and nothing when the run cannot be claimed", async () => {
    const queue = new JobQueue(db.dataSource, { registry });
    const job = (await queue.enqueue("app.tasks.ok", { runAt: new Date("2099-01-01T00:00:00Z") })) as HrpCronJob;
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), now: clock.now });
    const result = await dispatcher.runJob(job.id, { by: "li.na", reason: "the bank asked for it now" });
    expect(result.outcome).toBe("done");
    await expect(dispatcher.runJob(job.id, { by: "li.na" })).rejects.toBeInstanceOf(InvalidStateError); // done: not again
    const actions = await admin().listActions();
    expect(actions.map((a) => [a.action, a.targetType, a.targetId, a.actor, a.reason])).toEqual([
      ["run_now", "job", job.id, "li.na", "the bank asked for it now"],
    ]);
    expect(actions[0].outcome).toMatch(/^app\.tasks\.ok started by /);
  });

  it("a refused change writes no action row", async () => {
    const job = await failedJob();
    await expect(admin().stopJob(job.id, { by: "li.na" })).rejects.toBeInstanceOf(InvalidStateError); // not running
    await admin().retryJob(job.id, undefined, { by: "li.na" });
    await expect(admin().retryJob(job.id, undefined, { by: "li.na" })).rejects.toBeInstanceOf(InvalidStateError); // pending
    expect((await admin().listActions()).map((x) => x.action)).toEqual(["retry"]);
  });

  it("a change whose action row cannot be written is rolled back with it", async () => {
    const job = await failedJob();
    // The log refuses every row (a trigger); the cancel must then leave the job as it was.
    if (kind === "sqlite")
      await db.dataSource.query(
        `CREATE TRIGGER refuse_actions BEFORE INSERT ON hrp_cron_action BEGIN SELECT RAISE(ABORT, 'action log refused'); END`,
      );
    else {
      await db.dataSource.query(
        `CREATE FUNCTION refuse_action() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'action log refused'; END $$`,
      );
      await db.dataSource.query(
        `CREATE TRIGGER refuse_actions BEFORE INSERT ON hrp_cron_action FOR EACH ROW EXECUTE FUNCTION refuse_action()`,
      );
    }
    const before = await snapshotTables(db, ["hrp_cron_job", "hrp_cron_action"]);
    await expect(admin().cancelJob(job.id, { by: "li.na", reason: "x" })).rejects.toThrow(/action log refused/);
    await expect(admin().retryJob(job.id, undefined, { by: "li.na" })).rejects.toThrow(/action log refused/);
    await expect(admin().purge({ failedOlderThanMs: 0 }, { by: "ops" })).rejects.toThrow(/action log refused/);
    expect(await snapshotTables(db, ["hrp_cron_job", "hrp_cron_action"])).toEqual(before);
    expect((await admin().getJob(job.id)).state).toBe("failed");
  });

  it("refuses a malformed operator or filter with a ValidationError, writing nothing", async () => {
    const job = await failedJob();
    const bad: unknown[] = [
      { by: "" },
      { by: 42 },
      { source: "email" },
      { reason: "x".repeat(2001) },
      { who: "li.na" },
      "li.na",
    ];
    for (const operator of bad)
      await expect(admin().cancelJob(job.id, operator as never)).rejects.toBeInstanceOf(ValidationError);
    for (const filter of [{ by: "" }, { targetId: 0 }, { limit: 0 }, { since: new Date(NaN) }, { nope: 1 }])
      await expect(admin().listActions(filter as never)).rejects.toBeInstanceOf(ValidationError);
    expect(await count(db, "hrp_cron_action")).toBe(0);
    expect((await admin().getJob(job.id)).state).toBe("failed");
  });
});
