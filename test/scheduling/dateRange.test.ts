import { Dispatcher, HrpCronJobService, ModelRegistry, ValidationError, backendFor, type JobEnv } from "../../src";
import { HrpCronJob, HrpCronRunLog, IrCron } from "../../src/schema/entities";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

const YEAR_10000 = new Date("+010000-01-01T00:00:00Z");
const YEAR_0 = new Date("0000-12-31T00:00:00Z");

describe.each(BACKENDS)("dates outside 0001-9999 on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-03-02T09:00:00Z");
  let ran: string[];
  let service: HrpCronJobService;
  let registry: ModelRegistry;

  beforeEach(async () => {
    db = await openTestDb(kind);
    ran = [];
    registry = new ModelRegistry().register("test.model", {
      async record(_env: JobEnv, tag: string) {
        ran.push(tag);
      },
      async explode(_env: JobEnv, tag: string) {
        ran.push(tag);
        throw new Error(`boom ${tag}`);
      },
    });
    service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
  });
  afterEach(() => db.close());

  const tables = async () => [
    await count(db, "ir_cron"),
    await count(db, "hrp_cron_job"),
    await count(db, "hrp_cron_runs"),
  ];

  it("refuses them wherever a date enters, and writes nothing", async () => {
    const refused: Array<[string, () => Promise<unknown>]> = [
      [
        "runByCron dateCreated year 10000",
        () => service.runByCron("x", "test.model", "record", ["a"], 10, undefined, YEAR_10000),
      ],
      [
        "runByCron dateCreated year 0",
        () => service.runByCron("x", "test.model", "record", ["a"], 10, undefined, YEAR_0),
      ],
      [
        "runByCron ISO string year 10000",
        () =>
          service.runByCron(
            "x",
            "test.model",
            "record",
            ["a"],
            10,
            undefined,
            "+010000-01-01T00:00:00Z" as unknown as Date,
          ),
      ],
      [
        "createCron nextcall year 10000",
        () => service.createCron({ name: "c", model: "test.model", function: "record", nextcall: YEAR_10000 }),
      ],
      ["listJobs since year 10000", () => service.listJobs({ since: YEAR_10000 })],
      ["listJobs until year 0", () => service.listJobs({ until: YEAR_0 })],
      ["retryJob at year 10000", () => service.retryJob(1, YEAR_10000)],
    ];
    for (const [label, call] of refused) {
      await expect(call()).rejects.toThrow(ValidationError);
      await expect(call()).rejects.toThrow(/outside the supported range 0001-01-01 to 9999-12-31/);
      expect([label, ...(await tables())]).toEqual([label, 0, 0, 0]);
    }
  });

  it("refuses an interval whose next run would be after 9999-12-31", async () => {
    await expect(
      service.createCron({
        name: "c",
        model: "test.model",
        function: "record",
        intervalType: "months",
        intervalNumber: 52_704_000,
      }),
    ).rejects.toThrow(/Invalid interval_number: the run after 2026-03-02T09:00:00.000Z would be after 9999-12-31/);
    await expect(
      service.createCron({
        name: "c",
        model: "test.model",
        function: "record",
        intervalType: "days",
        intervalNumber: 1,
        nextcall: new Date("9999-12-31T12:00:00Z"),
      }),
    ).rejects.toThrow(ValidationError);
    await expect(
      service.createCron({
        name: "c",
        model: "test.model",
        function: "record",
        cronExpression: "0 0 1 1 *",
        nextcall: new Date("9999-06-01T00:00:00Z"),
      }),
    ).rejects.toThrow(/Invalid cron_expression/);
    expect(await tables()).toEqual([0, 0, 0]);
    // The edges themselves are fine.
    await service.runByCron("edge", "test.model", "record", ["a"], 10, undefined, new Date("9999-12-31T23:59:59.999Z"));
    await service.createCron({
      name: "yearly",
      model: "test.model",
      function: "record",
      intervalType: "months",
      intervalNumber: 12,
      nextcall: new Date("9998-12-31T00:00:00Z"),
    });
    expect(await tables()).toEqual([2, 1, 0]);
  });

  it("a cron whose next run cannot be computed is deactivated with a recorded error; its batch-mates still complete", async () => {
    // A row written before this validation existed: valid when created, then its interval made absurd.
    const cron = await service.createCron({
      name: "Absurd",
      model: "test.model",
      function: "record",
      args: ["absurd"],
      intervalType: "months",
      intervalNumber: 1,
      priority: 5,
    });
    await backendFor(db.dataSource).transaction((m) =>
      backendFor(db.dataSource).execute(m, `UPDATE ir_cron SET interval_number = 52704000 WHERE id = ?`, [cron.id]),
    );
    const job = await service.runByCron("Normal", "test.model", "record", ["normal"], 10);
    const logger = memoryLogger();
    const dispatcher = new Dispatcher(db.dataSource, registry, { now: clock.now, logger });
    try {
      const results = await dispatcher.runDue();
      expect(results.map((r) => [r.name, r.outcome])).toEqual([
        ["Absurd", "failed"],
        ["Normal", "done"],
      ]);
    } finally {
      await dispatcher.stop();
    }
    expect(ran).toEqual(["normal"]);
    const m = db.dataSource.manager;
    expect(await m.findOneByOrFail(HrpCronJob, { id: job.id })).toMatchObject({ state: "done" });
    const after = await m.findOneByOrFail(IrCron, { id: cron.id });
    expect(after).toMatchObject({ active: false, runningWorker: null, failureCount: 1 });
    const [log] = await m.findBy(HrpCronRunLog, { cronId: cron.id });
    expect(log.state).toBe("failed");
    expect(log.error).toMatch(/52704000 months is after 9999-12-31/);
    expect(await count(db, "ir_cron", "running_worker IS NOT NULL")).toBe(0);
  });

  it("a crash while recording one job's outcome does not strand the other jobs of its batch", async () => {
    // A job row whose bookkeeping cannot be computed (retries left, corrupt backoff), failing, then a normal job.
    const broken = await service.runByCron("Broken", "test.model", "explode", ["broken"], 5);
    const b = backendFor(db.dataSource);
    await b.transaction((m) =>
      b.execute(m, `UPDATE hrp_cron_job SET max_retries = 3, retry_backoff_ms = 'not json' WHERE id = ?`, [broken.id]),
    );
    const normal = await service.runByCron("Normal", "test.model", "record", ["normal"], 10);
    const dispatcher = new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });
    try {
      const results = await dispatcher.runDue();
      expect(results.map((r) => [r.name, r.outcome])).toEqual([
        ["Broken", "failed"],
        ["Normal", "done"],
      ]);
    } finally {
      await dispatcher.stop();
    }
    const m = db.dataSource.manager;
    expect(await m.findOneByOrFail(HrpCronJob, { id: normal.id })).toMatchObject({ state: "done" });
    expect(await m.findOneByOrFail(HrpCronJob, { id: broken.id })).toMatchObject({ state: "failed" });
    expect(await count(db, "ir_cron", "running_worker IS NOT NULL")).toBe(0);
    expect(await count(db, "hrp_cron_run_log", "state = 'failed'")).toBe(1);
  });
});
