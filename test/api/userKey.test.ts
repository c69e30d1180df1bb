import type { EntityManager } from "typeorm";
import {
  Dispatcher,
  HrpCronJobService,
  InvalidUserError,
  JobQueue,
  ModelRegistry,
  ResUsers,
  ResUsersResolver,
  ScheduledJobLog,
  Scheduler,
  backendFor,
  type JobEnv,
  type JobUser,
  type UserResolver,
} from "../../src";
import { HrpCronJob, HrpCronRunLog, IrCron } from "../../src/schema/entities";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 12, item 10: a job never runs as another login that took over its user id. */
describe.each(BACKENDS)("jobs remember who their user was, on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-11-23T10:00:00Z");
  const ran: Array<{ uid: number; login: string; what: string }> = [];
  const registry = new ModelRegistry().register("app.work", {
    touch(env: JobEnv, what: string) {
      ran.push({ uid: env.uid, login: env.user.login, what });
    },
  });

  beforeEach(async () => {
    db = await openTestDb(kind);
    ran.length = 0;
  });
  afterEach(() => db.close());

  async function addUser(login: string, id?: number): Promise<number> {
    const backend = backendFor(db.dataSource);
    if (id === undefined) {
      return (
        await db.dataSource.manager.save(
          db.dataSource.manager.create(ResUsers, { login, name: login, active: true, tz: null }),
        )
      ).id;
    }
    await backend.transaction((m) =>
      backend.execute(m, `INSERT INTO res_users (id, login, name, active) VALUES (?, ?, ?, TRUE)`, [id, login, login]),
    );
    return id;
  }

  /** alice is deleted and her id is given to mallory. */
  async function reuseId(uid: number): Promise<void> {
    await db.dataSource.manager.delete(ResUsers, { id: uid });
    await addUser("mallory", uid);
  }

  it("stores the login with jobs, crons and job types at creation", async () => {
    const alice = await addUser("alice");
    const service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    const job = await service.runByCron("one-shot", "app.work", "touch", ["a"], 10, alice);
    const cron = await service.createCron({
      name: "daily",
      model: "app.work",
      function: "touch",
      args: ["b"],
      userId: alice,
    });
    const queued = (await new JobQueue(db.dataSource, { registry, now: clock.now }).enqueue("app.work.touch", {
      args: ["c"],
      userId: alice,
    })) as HrpCronJob;
    const type = await new Scheduler(db.dataSource, { registry, now: clock.now }).createType({
      method: "app.work.touch",
      frequency: "Hourly",
      userId: alice,
    });
    expect(job.userKey).toBe("alice");
    expect(cron.userKey).toBe("alice");
    expect(type.userKey).toBe("alice");
    const rows = await db.dataSource.manager.find(HrpCronJob, { order: { id: "ASC" } });
    expect(rows.map((r) => [r.id, r.userKey])).toEqual([
      [job.id, "alice"],
      [queued.id, "alice"],
    ]);
    const crons = await db.dataSource.manager.find(IrCron, { order: { id: "ASC" } });
    // The runByCron job's ir_cron row and the recurring cron (a queue job has no ir_cron row).
    expect(crons.map((c) => c.userKey)).toEqual(["alice", "alice"]);
  });

  it("a job, a recurring cron and a queue job whose user id now belongs to another login fail with InvalidUserError instead of running", async () => {
    const alice = await addUser("alice");
    const service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    const jobs = new JobQueue(db.dataSource, { registry, now: clock.now });
    const job = await service.runByCron("one-shot", "app.work", "touch", ["job"], 10, alice);
    const cron = await service.createCron({
      name: "every hour",
      model: "app.work",
      function: "touch",
      args: ["cron"],
      userId: alice,
      intervalType: "hours",
    });
    const queued = (await jobs.enqueue("app.work.touch", { args: ["queue"], userId: alice })) as HrpCronJob;
    await reuseId(alice);

    const results = await new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() }).runDue();
    expect(ran).toEqual([]);
    expect(results.map((r) => r.outcome)).toEqual(["failed", "failed", "failed"]);
    for (const r of results)
      expect(r.error).toMatch(new RegExp(`User ${alice} now belongs to another login \\("mallory", not "alice"`));
    const failed = await db.dataSource.manager.findBy(HrpCronJob, { state: "failed" });
    expect(failed.map((j) => j.id).sort()).toEqual([job.id, queued.id].sort());
    expect(failed[0].excInfo).toMatch(/^InvalidUserError: User \d+ now belongs to another login/);
    const runs = await db.dataSource.manager.find(HrpCronRunLog);
    expect(runs.map((r) => r.state)).toEqual(["failed", "failed", "failed"]);
    expect((await db.dataSource.manager.findOneByOrFail(IrCron, { id: cron.id })).failureCount).toBe(1);
  });

  it("the error names the reason", () => {
    const error = new InvalidUserError(7, "replaced", { expected: "alice", actual: "mallory" });
    expect(error.context).toMatchObject({ userId: 7, reason: "replaced", expected: "alice", actual: "mallory" });
    expect(error.message).toMatch(/create the job again for the intended user/);
  });

  it("a Scheduled Job Type whose user id now belongs to another login fails (recorded), not enqueued as the new login", async () => {
    const alice = await addUser("alice");
    const scheduler = new Scheduler(db.dataSource, { registry, now: clock.now, logger: memoryLogger() });
    await scheduler.createType({ method: "app.work.touch", frequency: "Hourly", userId: alice });
    await reuseId(alice);
    clock.set("2026-11-23T11:00:00Z");
    expect((await scheduler.tick()).enqueued).toEqual([]);
    expect(await count(db, "hrp_cron_job")).toBe(0);
    const [log] = await db.dataSource.manager.find(ScheduledJobLog);
    expect([log.status, log.error]).toEqual([
      "Failed",
      expect.stringMatching(/now belongs to another login \("mallory", not "alice"/),
    ]);
    clock.set("2026-11-23T10:00:00Z");
  });

  it("rows stored before migration 0009 (no user_key) keep today's behaviour", async () => {
    const alice = await addUser("alice");
    const service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    await service.runByCron("old row", "app.work", "touch", ["old"], 10, alice);
    await db.dataSource.query(`UPDATE ir_cron SET user_key = NULL`);
    await db.dataSource.query(`UPDATE hrp_cron_job SET user_key = NULL`);
    await reuseId(alice);
    await new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() }).runDue();
    expect(ran).toEqual([{ uid: alice, login: "mallory", what: "old" }]);
  });

  it("a resolver's stable key survives a login rename", async () => {
    const alice = await addUser("alice");
    const byKey: UserResolver = {
      async findUser(manager: EntityManager, userId: number): Promise<JobUser | null> {
        const user = await new ResUsersResolver().findUser(manager, userId);
        return user && { ...user, key: `person-${userId}-${user.name}` };
      },
    };
    const service = new HrpCronJobService(db.dataSource, { now: clock.now, registry, userResolver: byKey });
    const job = await service.runByCron("renamed", "app.work", "touch", ["renamed"], 10, alice);
    expect(job.userKey).toBe(`person-${alice}-alice`);
    await db.dataSource.manager.update(ResUsers, { id: alice }, { login: "alice.smith" });
    await new Dispatcher(db.dataSource, registry, {
      now: clock.now,
      logger: memoryLogger(),
      userResolver: byKey,
    }).runDue();
    expect(ran).toEqual([{ uid: alice, login: "alice.smith", what: "renamed" }]);
  });
});
