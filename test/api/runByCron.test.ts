import {
  HrpCronJobService,
  InvalidUserError,
  ModelRegistry,
  UnknownMethodError,
  ValidationError,
  runAsUser,
} from "../../src";
import { HrpCronJob, IrCron, ResUsers } from "../../src/schema/entities";
import { BACKENDS, count, fixedClock, openTestDb, type TestDb } from "../helpers";

describe.each(BACKENDS)("runByCron on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-03-01T10:00:00Z");
  const registry = new ModelRegistry().register("hrp.asset.receiving.application", {
    createMove: async () => undefined,
  });
  let service: HrpCronJobService;

  beforeEach(async () => {
    db = await openTestDb(kind);
    service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
  });
  afterEach(() => db.close());

  it("writes the job and its one-shot ir_cron row (Odoo's shape)", async () => {
    const at = new Date("2026-03-01T10:00:30Z");
    const job = await service.runByCron(
      "Create move",
      "hrp.asset.receiving.application",
      "createMove",
      [[1, 2]],
      10,
      undefined,
      at,
    );
    expect(job.id).toBeGreaterThan(0);
    expect(job.state).toBe("pending");
    const stored = await db.dataSource.manager.findOneByOrFail(HrpCronJob, { id: job.id });
    expect(stored).toMatchObject({ name: "Create move", args: "[[1,2]]", priority: 10, userId: 1, createUid: 1 });
    expect(stored.dateCreated.toISOString()).toBe(at.toISOString());
    const cron = await db.dataSource.manager.findOneByOrFail(IrCron, { hrpCronJobId: job.id });
    expect(cron).toMatchObject({
      active: true,
      numbercall: 1,
      doall: true,
      intervalType: "minutes",
      intervalNumber: 1,
      userId: 1,
      priority: 10,
    });
    expect(cron.nextcall.toISOString()).toBe(at.toISOString());
  });

  it("the named form writes what the positional one writes; unknown keys are refused; it joins a transaction", async () => {
    const at = new Date("2026-03-01T10:00:30Z");
    const positional = await service.runByCron(
      "Move",
      "hrp.asset.receiving.application",
      "createMove",
      [[1]],
      5,
      1,
      at,
    );
    const named = await service.runByCron({
      name: "Move",
      model: "hrp.asset.receiving.application",
      function: "createMove",
      args: [[1]],
      priority: 5,
      userId: 1,
      dateCreated: at,
    });
    const shape = (j: HrpCronJob) => [
      j.name,
      j.model,
      j.function,
      j.args,
      j.priority,
      j.userId,
      j.dateCreated.toISOString(),
    ];
    expect(shape(named)).toEqual(shape(positional));
    await expect(
      service.runByCron({ name: "x", model: "hrp.asset.receiving.application", fn: "createMove" } as never),
    ).rejects.toThrow(/Invalid call: unknown option fn/);
    await expect(
      db.dataSource.transaction(async (manager) => {
        await service.runByCron(
          { name: "In tx", model: "hrp.asset.receiving.application", function: "createMove" },
          { manager },
        );
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(await count(db, "hrp_cron_job")).toBe(2);
  });

  it("defaults the start to now and the user to the ambient user", async () => {
    const user = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login: "approver", name: "Approver", active: true, tz: null }),
    );
    const job = await runAsUser(user.id, () =>
      service.runByCron("Ambient", "hrp.asset.receiving.application", "createMove", []),
    );
    expect(job.userId).toBe(user.id);
    expect(job.createUid).toBe(user.id);
    expect(job.dateCreated.toISOString()).toBe(clock.now().toISOString());
  });

  it("an explicit user wins over the ambient user", async () => {
    const user = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login: "u2", name: "U2", active: true, tz: null }),
    );
    const job = await runAsUser(1, () =>
      service.runByCron("Explicit", "hrp.asset.receiving.application", "createMove", [], 10, user.id),
    );
    expect(job.userId).toBe(user.id);
    expect(job.createUid).toBe(1);
  });

  it("joins the caller's transaction: nothing exists if it rolls back", async () => {
    await expect(
      db.dataSource.transaction(async (manager) => {
        await service.runByCron(
          "Rolled back",
          "hrp.asset.receiving.application",
          "createMove",
          [],
          10,
          undefined,
          undefined,
          { manager },
        );
        expect(await manager.count(HrpCronJob)).toBe(1);
        throw new Error("business rule failed");
      }),
    ).rejects.toThrow("business rule failed");
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "ir_cron")).toBe(0);
  });

  it("joins the caller's transaction: both rows exist once it commits", async () => {
    await db.dataSource.transaction(async (manager) => {
      await service.runByCron(
        "Committed",
        "hrp.asset.receiving.application",
        "createMove",
        [],
        10,
        undefined,
        undefined,
        { manager },
      );
    });
    expect(await count(db, "hrp_cron_job")).toBe(1);
    expect(await count(db, "ir_cron")).toBe(1);
  });

  const bad: Array<[string, () => Promise<unknown>, unknown]> = [
    ["empty name", () => service.runByCron("  ", "hrp.asset.receiving.application", "createMove", []), ValidationError],
    ["unregistered model", () => service.runByCron("x", "hrp.nope", "createMove", []), UnknownMethodError],
    [
      "unregistered method",
      () => service.runByCron("x", "hrp.asset.receiving.application", "dropTables", []),
      UnknownMethodError,
    ],
    [
      "args not an array",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", "1,2" as unknown as unknown[]),
      ValidationError,
    ],
    [
      "a function in args",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [() => 1]),
      ValidationError,
    ],
    [
      "undefined in args",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [undefined]),
      ValidationError,
    ],
    [
      "a BigInt in args",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [10n]),
      ValidationError,
    ],
    [
      "NaN in args",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [{ a: NaN }]),
      ValidationError,
    ],
    [
      "a Date in args",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [new Date()]),
      ValidationError,
    ],
    [
      "a cycle in args",
      () => {
        const a: Record<string, unknown> = {};
        a.self = a;
        return service.runByCron("x", "hrp.asset.receiving.application", "createMove", [a]);
      },
      ValidationError,
    ],
    [
      "non-integer priority",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [], 1.5),
      ValidationError,
    ],
    [
      "huge priority",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [], 1e12),
      ValidationError,
    ],
    [
      "invalid date",
      () =>
        service.runByCron("x", "hrp.asset.receiving.application", "createMove", [], 10, undefined, new Date("nope")),
      ValidationError,
    ],
    [
      "missing user",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [], 10, 999),
      InvalidUserError,
    ],
    [
      "negative user id",
      () => service.runByCron("x", "hrp.asset.receiving.application", "createMove", [], 10, -3),
      ValidationError,
    ],
  ];
  it.each(bad)("refuses %s with a named error and writes nothing", async (_label, call, errorClass) => {
    await expect(call()).rejects.toBeInstanceOf(errorClass as new () => Error);
    expect(await count(db, "hrp_cron_job")).toBe(0);
    expect(await count(db, "ir_cron")).toBe(0);
  });

  it("refuses an inactive user and writes nothing", async () => {
    const user = await db.dataSource.manager.save(
      db.dataSource.manager.create(ResUsers, { login: "gone", name: "Gone", active: false, tz: null }),
    );
    await expect(
      service.runByCron("x", "hrp.asset.receiving.application", "createMove", [], 10, user.id),
    ).rejects.toThrow(/inactive/);
    expect(await count(db, "hrp_cron_job")).toBe(0);
  });

  it("without a registry, accepts any method name (checked at run time)", async () => {
    const loose = new HrpCronJobService(db.dataSource, { now: clock.now });
    const job = await loose.runByCron("x", "hrp.other", "whatever", []);
    expect(job.id).toBeGreaterThan(0);
  });
});
