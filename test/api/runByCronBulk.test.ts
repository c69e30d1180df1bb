import {
  Dispatcher,
  HrpCronJobService,
  InvalidUserError,
  ModelRegistry,
  UnknownMethodError,
  ValidationError,
  runAsUser,
  type JobEnv,
  type RunByCronCall,
} from "../../src";
import { HrpCronJob, IrCron, ResUsers } from "../../src/schema/entities";
import { BACKENDS, count, fixedClock, openTestDb, type TestDb } from "../helpers";

/**
 * Issue 14 (bulk enqueue): `runByCronBulk` is `runByCron` for many calls at
 * once — the same checks for every call before any write, the same two rows
 * per job, one transaction, users checked once each.
 */
describe.each(BACKENDS)("runByCronBulk on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-03-01T10:00:00Z");
  const ran: Array<{ ids: number[]; uid: number }> = [];
  const registry = new ModelRegistry().register("hrp.asset.receiving.application", {
    createMove: async (env: JobEnv, ids: number[]) => void ran.push({ ids, uid: env.uid }),
  });
  let service: HrpCronJobService;
  let approver: ResUsers;
  const model = "hrp.asset.receiving.application";

  beforeEach(async () => {
    db = await openTestDb(kind);
    service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    ran.length = 0;
    approver = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login: "approver", name: "Approver", active: true, tz: null }),
    );
  });
  afterEach(() => db.close());

  /** The rows of both tables, ids replaced by the job's position, so two ways of writing them compare equal. */
  async function rows() {
    const jobs = await db.dataSource.manager.find(HrpCronJob, { order: { id: "ASC" } });
    const crons = await db.dataSource.manager.find(IrCron, { order: { id: "ASC" } });
    const position = new Map(jobs.map((j, i) => [j.id, i]));
    return {
      jobs: jobs.map(({ id: _id, ...job }) => job),
      crons: crons.map(({ id: _id, hrpCronJobId, ...cron }) => ({ ...cron, job: position.get(hrpCronJobId!) })),
    };
  }

  const calls = (): RunByCronCall[] => [
    { name: "Create move", model, function: "createMove", args: [[1, 2]] },
    { name: "Create move", model, function: "createMove", args: [[3]], priority: 3 },
    { name: "Late move", model, function: "createMove", dateCreated: new Date("2026-03-01T10:00:30Z") },
    { name: "Create move", model, function: "createMove", args: [[4]], userId: 1 },
  ];

  it("writes the same two rows per job as runByCron does, call by call", async () => {
    await runAsUser(approver.id, async () => {
      for (const c of calls())
        await service.runByCron(c.name, c.model, c.function, c.args, c.priority, c.userId, c.dateCreated);
    });
    const oneByOne = await rows();
    expect(oneByOne.jobs).toHaveLength(4);
    await db.dataSource.query("DELETE FROM ir_cron");
    await db.dataSource.query("DELETE FROM hrp_cron_job");

    const saved = await runAsUser(approver.id, () => service.runByCronBulk(calls()));
    expect(await rows()).toEqual(oneByOne);
    // The returned jobs are the rows, in the order given.
    const stored = await db.dataSource.manager.find(HrpCronJob, { order: { id: "ASC" } });
    expect(saved.map((j) => j.id)).toEqual(stored.map((j) => j.id));
    expect(saved.map((j) => [j.args, j.priority, j.userId, j.userKey])).toEqual([
      ["[[1,2]]", 10, approver.id, "approver"],
      ["[[3]]", 3, approver.id, "approver"],
      ["[]", 10, approver.id, "approver"],
      ["[[4]]", 10, 1, "admin"],
    ]);
  });

  it("its jobs run like runByCron's: as their users, by priority, when due", async () => {
    await service.runByCronBulk([
      { name: "a", model, function: "createMove", args: [[1]], userId: approver.id },
      { name: "b", model, function: "createMove", args: [[2]], priority: 1 },
      { name: "c", model, function: "createMove", args: [[3]], dateCreated: new Date("2026-03-02T00:00:00Z") },
    ]);
    await new Dispatcher(db.dataSource, registry, { now: clock.now }).runDue();
    expect(ran).toEqual([
      { ids: [2], uid: 1 },
      { ids: [1], uid: approver.id },
    ]);
  });

  it("checks each distinct user once, whatever the number of calls", async () => {
    const lookups: number[] = [];
    const counted = new HrpCronJobService(db.dataSource, {
      now: clock.now,
      registry,
      userResolver: {
        async findUser(_manager, id) {
          lookups.push(id);
          return { id, login: `u${id}`, name: `U${id}`, active: true, tz: null };
        },
      },
    });
    const jobs = await counted.runByCronBulk(
      Array.from({ length: 50 }, (_, i) => ({ name: "n", model, function: "createMove", userId: 1 + (i % 2) })),
    );
    expect(jobs).toHaveLength(50);
    expect(lookups).toEqual([1, 2]);
  });

  it("joins the caller's transaction: nothing exists if it rolls back, everything once it commits", async () => {
    await expect(
      db.dataSource.transaction(async (manager) => {
        await service.runByCronBulk(calls(), { manager });
        expect(await manager.count(HrpCronJob)).toBe(4);
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "ir_cron")).toBe(0);
    await db.dataSource.transaction((manager) => service.runByCronBulk(calls(), { manager }));
    expect(await count(db, "hrp_cron_job")).toBe(4);
    expect(await count(db, "ir_cron")).toBe(4);
  });

  it("an empty list writes nothing", async () => {
    expect(await service.runByCronBulk([])).toEqual([]);
    expect(await count(db, "hrp_cron_job")).toBe(0);
  });

  const good = { name: "ok", model, function: "createMove" };
  const bad: Array<[string, () => unknown[], new (...a: never[]) => Error, RegExp]> = [
    ["a bad priority", () => [good, good, { ...good, priority: 1.5 }], ValidationError, /calls\[2\]\.priority/],
    [
      "an unregistered method",
      () => [good, { ...good, function: "dropTables" }],
      UnknownMethodError,
      /^calls\[1\]: Method `hrp\.asset\.receiving\.application\.dropTables` does not exist/,
    ],
    [
      "a function in args",
      () => [{ ...good, args: [() => 1] }],
      ValidationError,
      /calls\[0\]\.args\[0\] is a function/,
    ],
    ["args not an array", () => [good, { ...good, args: "1,2" }], ValidationError, /calls\[1\]\.args/],
    ["a missing name", () => [good, { model, function: "createMove" }], ValidationError, /calls\[1\]\.name/],
    ["an empty model", () => [{ ...good, model: "" }], ValidationError, /calls\[0\]\.model/],
    [
      "an invalid date",
      () => [good, { ...good, dateCreated: new Date("nope") }],
      ValidationError,
      /calls\[1\]\.dateCreated/,
    ],
    ["a negative user id", () => [{ ...good, userId: -3 }], ValidationError, /calls\[0\]\.userId/],
    ["an unknown key", () => [good, { ...good, fn: "createMove" }], ValidationError, /calls\[1\]: unknown option fn/],
    ["a null value", () => [{ ...good, priority: null }], ValidationError, /calls\[0\]\.priority: null is not a value/],
    ["a null call", () => [good, null], ValidationError, /calls\[1\]/],
    ["a hole", () => [good, , good], ValidationError, /hole/], // eslint-disable-line no-sparse-arrays
    [
      "a missing user",
      () => [good, good, { ...good, userId: 999 }],
      InvalidUserError,
      /^calls\[2\]: User 999 does not exist/,
    ],
  ];
  it.each(bad)(
    "refuses %s with a named error naming the call, and writes nothing",
    async (_label, list, errorClass, message) => {
      const error = await service.runByCronBulk(list() as RunByCronCall[]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect((error as Error).message).toMatch(message);
      expect(await count(db, "hrp_cron_job")).toBe(0);
      expect(await count(db, "ir_cron")).toBe(0);
    },
  );

  it("refuses an inactive user, naming the first call that asked for it, and writes nothing", async () => {
    const gone = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login: "gone", name: "Gone", active: false, tz: null }),
    );
    const error = await service
      .runByCronBulk([good, { ...good, userId: gone.id }, { ...good, userId: gone.id }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidUserError);
    expect((error as InvalidUserError).context).toMatchObject({
      userId: gone.id,
      reason: "inactive",
      item: "calls[1]",
    });
    expect(await count(db, "hrp_cron_job")).toBe(0);
  });

  it("refuses what is not a list of calls, and a manager outside a transaction", async () => {
    for (const list of [undefined, null, "calls", { 0: good }])
      await expect(service.runByCronBulk(list as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(service.runByCronBulk([good], { manager: db.dataSource.manager })).rejects.toThrow(
      /not inside an open transaction/,
    );
    expect(await count(db, "hrp_cron_job")).toBe(0);
  });
});
