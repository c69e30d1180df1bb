import {
  Dispatcher,
  JobQueue,
  backendFor,
  ModelRegistry,
  Scheduler,
  ScheduledJobLog,
  UnknownMethodError,
  ValidationError,
  type JobEnv,
} from "../../src";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

describe.each(BACKENDS)("scheduler on %s", (kind) => {
  let db: TestDb;
  let clock: ReturnType<typeof fixedClock>;
  let registry: ModelRegistry;
  let fail: boolean;
  const logger = memoryLogger();

  beforeEach(async () => {
    db = await openTestDb(kind);
    clock = fixedClock("2026-11-23T10:00:00Z");
    fail = false;
    registry = new ModelRegistry().register("app.tasks", {
      cleanup() {},
      sync() {},
      report() {},
      depreciate() {},
      backup() {},
      async flaky(env: JobEnv) {
        if (fail) throw new Error("backup disk full");
        return env.uid;
      },
    });
  });
  afterEach(() => db.close());

  const scheduler = (extra: Partial<ConstructorParameters<typeof Scheduler>[1]> = {}) =>
    new Scheduler(db.dataSource, { registry, now: clock.now, logger, ...extra });
  const jobsFor = async (method: string) =>
    db.dataSource.query(`SELECT queue, state FROM hrp_cron_job WHERE name LIKE '${method}%' ORDER BY id`);

  it("syncs schedulerEvents: inserts, updates changed frequencies, deletes undeclared app types, keeps admin ones", async () => {
    const first = scheduler({
      schedulerEvents: {
        daily: ["app.tasks.cleanup"],
        hourly_long: ["app.tasks.sync"],
        cron: { "0 2 * * *": ["app.tasks.backup"] },
      },
    });
    expect(await first.sync()).toEqual({ inserted: 3, updated: 0, deleted: 0 });
    await first.createType({ method: "app.tasks.report", frequency: "Cron", cronFormat: "30 6 * * 1" });
    const second = scheduler({
      schedulerEvents: { weekly: ["app.tasks.cleanup"], cron: { "0 2 * * *": ["app.tasks.backup"] } },
    });
    expect(await second.sync()).toEqual({ inserted: 0, updated: 1, deleted: 1 });
    const types = await second.listTypes();
    expect(types.map((t) => [t.method, t.frequency, t.queue, t.createdBy])).toEqual([
      ["app.tasks.cleanup", "Weekly", "default", "app"],
      ["app.tasks.backup", "Cron", "default", "app"],
      ["app.tasks.report", "Cron", "default", "admin"],
    ]);
    expect(await second.sync()).toEqual({ inserted: 0, updated: 0, deleted: 0 });
  });

  it("refuses invalid cron expressions, unknown methods and events", async () => {
    const s = scheduler();
    await expect(
      s.createType({ method: "app.tasks.report", frequency: "Cron", cronFormat: "61 * * * *" }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(s.createType({ method: "app.tasks.report", frequency: "Cron" })).rejects.toThrow(
      /needs a cron expression/,
    );
    await expect(s.createType({ method: "app.tasks.nope", frequency: "Daily" })).rejects.toBeInstanceOf(
      UnknownMethodError,
    );
    await expect(s.createType({ method: "app.tasks.report", frequency: "Fortnightly" as never })).rejects.toThrow(
      /frequency/,
    );
    await expect(scheduler({ schedulerEvents: { daily: ["app.tasks.nope"] } }).sync()).rejects.toBeInstanceOf(
      UnknownMethodError,
    );
    await expect(
      scheduler({ schedulerEvents: { cron: { "bad cron": ["app.tasks.backup"] } } }).sync(),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(scheduler({ schedulerEvents: { sometimes: ["app.tasks.backup"] } as never }).sync()).rejects.toThrow(
      /unknown event "sometimes"/,
    );
    expect(await count(db, "scheduled_job_type")).toBe(0);
  });

  it.each([
    ["hourly", "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"],
    ["daily", "2026-11-23T10:00:00Z", "2026-11-24T00:00:00Z"],
    ["weekly", "2026-11-23T10:00:00Z", "2026-11-29T00:00:00Z"], // next Sunday
    ["monthly", "2026-11-23T10:00:00Z", "2026-12-01T00:00:00Z"],
    ["yearly", "2026-11-23T10:00:00Z", "2027-01-01T00:00:00Z"],
  ])(
    "%s: cold start is due at the first period boundary after creation, not a second earlier",
    async (event, created, boundary) => {
      clock.set(created);
      const s = scheduler({ schedulerEvents: { [event]: ["app.tasks.cleanup"] } });
      await s.sync();
      expect((await s.listTypes())[0].nextRunAt).toEqual(new Date(boundary));
      clock.set(new Date(new Date(boundary).getTime() - 1000));
      expect((await s.tick()).enqueued).toEqual([]);
      clock.set(boundary);
      expect((await s.tick()).enqueued).toEqual(["app.tasks.cleanup"]);
      clock.advance(1000);
      expect((await s.tick()).enqueued).toEqual([]); // once per period
    },
  );

  it("`all` uses schedulerIntervalMinutes; _long events go to the long queue", async () => {
    const s = scheduler({
      schedulerIntervalMinutes: 10,
      schedulerEvents: { all: ["app.tasks.sync"], daily_long: ["app.tasks.depreciate"] },
    });
    await s.sync();
    clock.set("2026-11-23T10:10:00Z");
    expect((await s.tick()).enqueued).toEqual(["app.tasks.sync"]);
    clock.set("2026-11-23T10:19:59Z");
    expect((await s.tick()).enqueued).toEqual([]);
    await db.dataSource.query(`UPDATE hrp_cron_job SET state = 'done'`);
    clock.set("2026-11-24T00:00:00Z");
    expect((await s.tick()).enqueued.sort()).toEqual(["app.tasks.depreciate", "app.tasks.sync"]);
    expect(await jobsFor("app.tasks.depreciate")).toEqual([{ queue: "long", state: "pending" }]);
  });

  it("cron types run in their time zone across a DST change", async () => {
    clock.set("2026-03-27T12:00:00Z");
    const s = scheduler();
    const type = await s.createType({
      method: "app.tasks.report",
      frequency: "Cron",
      cronFormat: "0 9 * * *",
      timeZone: "Europe/Berlin",
    });
    expect(s.nextRunAt(type)).toEqual(new Date("2026-03-28T08:00:00Z")); // 09:00 CET
    clock.set("2026-03-28T08:00:00Z");
    expect((await s.tick()).enqueued).toEqual(["app.tasks.report"]);
    expect((await s.listTypes())[0].nextRunAt).toEqual(new Date("2026-03-29T07:00:00Z")); // 09:00 CEST
  });

  it("missed periods collapse into one run by default; catchUp replays them (bounded)", async () => {
    const collapse = scheduler({ schedulerEvents: { hourly: ["app.tasks.sync"] } });
    await collapse.sync();
    clock.set("2026-11-23T15:30:00Z"); // 11:00 .. 15:00 missed
    expect((await collapse.tick()).enqueued).toEqual(["app.tasks.sync"]);
    expect(await count(db, "hrp_cron_job")).toBe(1);
    expect((await collapse.listTypes())[0].nextRunAt).toEqual(new Date("2026-11-23T16:00:00Z"));

    await db.dataSource.query(`UPDATE hrp_cron_job SET state = 'done'`);
    clock.set("2026-11-23T19:30:00Z"); // 16:00 .. 19:00 missed: 4 periods
    const replay = scheduler({ schedulerEvents: { hourly: ["app.tasks.sync"] }, catchUp: true, maxCatchUp: 3 });
    await replay.tick();
    expect(await count(db, "hrp_cron_job")).toBe(1 + 3);
  });

  it("two schedulers: only the leader enqueues; when it dies another takes over after the lease", async () => {
    const a = scheduler({ schedulerEvents: { hourly: ["app.tasks.sync"] }, leaseMs: 10_000 });
    const b = scheduler({ schedulerEvents: { hourly: ["app.tasks.sync"] }, leaseMs: 10_000 });
    await a.sync();
    clock.set("2026-11-23T11:00:00Z");
    const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
    expect([ra.leader, rb.leader].filter(Boolean)).toHaveLength(1);
    expect(await count(db, "hrp_cron_job")).toBe(1);
    // The leader renews its lease at 12:59:58, then "dies" (stops ticking without releasing it).
    await db.dataSource.query(`UPDATE hrp_cron_job SET state = 'done'`);
    const leader = ra.leader ? a : b;
    const other = ra.leader ? b : a;
    clock.set("2026-11-23T12:00:00Z");
    expect((await leader.tick()).enqueued).toEqual(["app.tasks.sync"]);
    await db.dataSource.query(`UPDATE hrp_cron_job SET state = 'done'`);
    clock.set("2026-11-23T12:59:58Z");
    expect(await leader.tick()).toEqual({ leader: true, enqueued: [], skipped: [] });
    clock.set("2026-11-23T13:00:00Z");
    expect((await other.tick()).leader).toBe(false); // the lease still holds: nobody enqueues 13:00 twice
    clock.set("2026-11-23T13:00:09Z");
    const takeover = await other.tick();
    expect([takeover.leader, takeover.enqueued]).toEqual([true, ["app.tasks.sync"]]);
    expect((await leader.tick()).leader).toBe(false);
    expect((await other.status()).leaderId).toBe(other.id);
  });

  it("skips a type whose previous run is still queued or running, and detects a run stuck past its timeout", async () => {
    const s = scheduler({ schedulerEvents: { hourly: ["app.tasks.sync"] } });
    await s.sync();
    clock.set("2026-11-23T11:00:00Z");
    await s.tick();
    clock.set("2026-11-23T12:00:00Z");
    const skipped = await s.tick();
    expect(skipped.skipped).toEqual([{ method: "app.tasks.sync", reason: expect.stringMatching(/still pending/) }]);
    // The run starts and hangs for longer than the default queue's 300 s timeout.
    const backend = backendFor(db.dataSource);
    await backend.execute(db.dataSource.manager, `UPDATE hrp_cron_job SET state = 'running', date_started = ?`, [
      backend.toDbDate(new Date("2026-11-23T12:00:00Z")),
    ]);
    clock.set("2026-11-23T12:04:00Z");
    expect((await s.tick()).skipped).toHaveLength(1);
    clock.set("2026-11-23T12:06:00Z");
    const after = await s.tick();
    expect(after.enqueued).toEqual(["app.tasks.sync"]);
    expect(logger.lines.some((l) => /stuck run detected/.test(l))).toBe(true);
    const logs = await db.dataSource.manager.find(ScheduledJobLog, { order: { id: "ASC" } });
    expect(logs.map((l) => l.status)).toEqual(["Failed", "Start"]);
    expect(logs[0].error).toMatch(/^stuck: .*past its 300 s timeout/);
  });

  it("the log shows Start then Complete, or Failed with the error (not hidden as finished)", async () => {
    const s = scheduler({ schedulerEvents: { hourly: ["app.tasks.flaky"] } });
    await s.sync();
    const dispatcher = new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });
    clock.set("2026-11-23T11:00:00Z");
    await s.tick();
    await dispatcher.runDue();
    fail = true;
    clock.set("2026-11-23T12:00:00Z");
    await s.tick();
    await dispatcher.runDue();
    clock.set("2026-11-23T12:00:01Z");
    await s.tick(); // closes finished logs
    const logs = await db.dataSource.manager.find(ScheduledJobLog, { order: { id: "ASC" } });
    expect(logs.map((l) => l.status)).toEqual(["Complete", "Failed"]);
    expect(logs[1].error).toMatch(/backup disk full/);
  });

  it("pause/resume and disable/enable are persisted; paused schedulers enqueue nothing", async () => {
    const s = scheduler({ schedulerEvents: { hourly: ["app.tasks.sync"] } });
    await s.sync();
    await s.setControl({ paused: true });
    clock.set("2026-11-23T11:00:00Z");
    expect(await scheduler().tick()).toEqual({ leader: false, enqueued: [], skipped: [] });
    expect((await s.status()).paused).toBe(true);
    await s.setControl({ paused: false });
    await s.setControl({ enabled: false });
    expect((await s.tick()).enqueued).toEqual([]);
    await s.setControl({ enabled: true });
    expect((await s.tick()).enqueued).toEqual(["app.tasks.sync"]);
    expect(await new JobQueue(db.dataSource, { registry, now: clock.now }).stats()).toEqual([
      { queue: "default", concurrencyKey: null, running: 0, waiting: 1, scheduled: 0 },
    ]);
  });
});
