import { ModelRegistry, ResUsers, ScheduledJobLog, Scheduler } from "../../src";
import { doctorReport } from "../../src/cli/doctor";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 12, item 9: one broken Scheduled Job Type must not stop the others. */
describe.each(BACKENDS)("scheduler isolation on %s", (kind) => {
  let db: TestDb;
  let clock: ReturnType<typeof fixedClock>;
  const registry = new ModelRegistry().register("app.tasks", { cleanup() {}, report() {}, backup() {}, gone() {} });

  beforeEach(async () => {
    db = await openTestDb(kind);
    clock = fixedClock("2026-11-23T10:00:00Z");
  });
  afterEach(() => db.close());

  const scheduler = (extra: Partial<ConstructorParameters<typeof Scheduler>[1]> = {}) =>
    new Scheduler(db.dataSource, { registry, now: clock.now, logger: memoryLogger(), ...extra });
  const logs = () => db.dataSource.manager.find(ScheduledJobLog, { order: { id: "ASC" } });

  async function addUser(login: string): Promise<number> {
    const user = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login, name: login, active: true, tz: null, createDate: new Date() }),
    );
    return user.id;
  }

  it("a type whose user is inactive or missing fails alone, recorded in scheduled_job_log and shown by doctor; the others are enqueued", async () => {
    const s = scheduler();
    const inactive = await addUser("ina");
    const missing = await addUser("gone");
    await s.createType({ method: "app.tasks.cleanup", frequency: "Hourly" });
    await s.createType({ method: "app.tasks.report", frequency: "Hourly", userId: inactive });
    await s.createType({ method: "app.tasks.backup", frequency: "Hourly", userId: missing });
    await db.dataSource.manager.update(ResUsers, { id: inactive }, { active: false });
    await db.dataSource.manager.delete(ResUsers, { id: missing });

    clock.set("2026-11-23T11:00:00Z");
    const result = await s.tick();
    expect(result.enqueued).toEqual(["app.tasks.cleanup"]);
    expect(result.skipped.map((x) => x.method).sort()).toEqual(["app.tasks.backup", "app.tasks.report"]);
    expect(await count(db, "hrp_cron_job")).toBe(1);
    const rows = await logs();
    expect(rows.map((l) => [l.method, l.status])).toEqual([
      ["app.tasks.cleanup", "Start"],
      ["app.tasks.report", "Failed"],
      ["app.tasks.backup", "Failed"],
    ]);
    expect(rows[1].error).toMatch(new RegExp(`User ${inactive} is inactive`));
    expect(rows[2].error).toMatch(new RegExp(`User ${missing} does not exist`));
    expect(rows[1].scheduledFor).toEqual(new Date("2026-11-23T11:00:00Z"));

    const report = await doctorReport(db.dataSource, s, clock.now());
    expect(report).toMatch(/Failing scheduled job types: 2/);
    expect(report).toMatch(/app\.tasks\.report .*is inactive/);
    expect(report).toMatch(/app\.tasks\.backup .*does not exist/);
  });

  it("a type that keeps failing writes one Failed row per due occurrence, not one per tick", async () => {
    const s = scheduler();
    const uid = await addUser("ina");
    await s.createType({ method: "app.tasks.report", frequency: "Hourly", userId: uid });
    await db.dataSource.manager.update(ResUsers, { id: uid }, { active: false });
    for (const at of ["11:00:00", "11:00:15", "11:20:00", "11:59:59", "12:00:00", "12:00:30"]) {
      clock.set(`2026-11-23T${at}Z`);
      await s.tick();
    }
    expect((await logs()).map((l) => [l.status, l.scheduledFor?.toISOString()])).toEqual([
      ["Failed", "2026-11-23T11:00:00.000Z"],
      ["Failed", "2026-11-23T12:00:00.000Z"],
    ]);
    // Back in order: the next occurrence runs.
    await db.dataSource.manager.update(ResUsers, { id: uid }, { active: true });
    clock.set("2026-11-23T13:00:00Z");
    expect((await s.tick()).enqueued).toEqual(["app.tasks.report"]);
  });

  it("a type whose method is no longer registered, or whose queue is no longer configured, fails alone", async () => {
    const withQueue = scheduler({ workers: { reports: { timeoutMs: 60_000 } } });
    await withQueue.createType({ method: "app.tasks.gone", frequency: "Hourly" });
    await withQueue.createType({ method: "app.tasks.report", frequency: "Hourly", queue: "reports" });
    await withQueue.createType({ method: "app.tasks.cleanup", frequency: "Hourly" });
    const narrower = new Scheduler(db.dataSource, {
      registry: new ModelRegistry().register("app.tasks", { cleanup() {}, report() {} }),
      now: clock.now,
      logger: memoryLogger(),
    });
    clock.set("2026-11-23T11:00:00Z");
    expect((await narrower.tick()).enqueued).toEqual(["app.tasks.cleanup"]);
    const rows = await logs();
    expect(rows.map((l) => [l.method, l.status])).toEqual([
      ["app.tasks.gone", "Failed"],
      ["app.tasks.report", "Failed"],
      ["app.tasks.cleanup", "Start"],
    ]);
    expect(rows[0].error).toMatch(/does not exist/);
    expect(rows[1].error).toMatch(/Queue "reports" does not exist/);
  });

  it("a stored schedule that cannot be computed is recorded once, not every tick", async () => {
    const s = scheduler();
    await s.createType({ method: "app.tasks.cleanup", frequency: "Hourly" });
    await s.createType({ method: "app.tasks.report", frequency: "Hourly" });
    await db.dataSource.query(`UPDATE scheduled_job_type SET tz = 'Mars/Olympus' WHERE method = 'app.tasks.report'`);
    for (const at of ["11:00:00", "11:00:15", "12:00:00"]) {
      clock.set(`2026-11-23T${at}Z`);
      await db.dataSource.query(`UPDATE hrp_cron_job SET state = 'done'`);
      await s.tick();
    }
    const failed = (await logs()).filter((l) => l.status === "Failed");
    expect(failed.map((l) => l.method)).toEqual(["app.tasks.report"]);
    expect(failed[0].error).toMatch(/Mars\/Olympus/);
    expect(await count(db, "hrp_cron_job")).toBe(2); // cleanup at 11:00 and 12:00
  });
});
