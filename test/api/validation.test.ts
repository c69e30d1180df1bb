import {
  Dispatcher,
  HrpCronJobService,
  JobQueue,
  ModelRegistry,
  Scheduler,
  UnknownQueueError,
  ValidationError,
  backendFor,
  type JobEnv,
} from "../../src";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HrpCronJob } from "../../src/schema/entities";
import { main } from "../../src/cli";
import { BACKENDS, count, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { snapshotTables } from "../tableSnapshot";

/** Issue 12, item 11: every gap below used to be accepted (or to crash with a raw error); now each is a named error and writes nothing. */
describe.each(BACKENDS)("bad input is refused and writes nothing, on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-11-23T10:00:00Z");
  const registry = new ModelRegistry().register("app.work", {
    noop() {},
    async slow() {
      await new Promise((resolve) => setTimeout(resolve, 30));
    },
  });
  let service: HrpCronJobService;
  let jobs: JobQueue;
  let scheduler: Scheduler;

  beforeEach(async () => {
    db = await openTestDb(kind);
    service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    jobs = new JobQueue(db.dataSource, { registry, now: clock.now });
    scheduler = new Scheduler(db.dataSource, { registry, now: clock.now, logger: memoryLogger() });
  });
  afterEach(() => db.close());

  /** `call` rejects (or throws) with `type` whose message matches `message`, and no table changed. */
  async function refuses(call: () => unknown, type: Function, message: RegExp): Promise<void> {
    const before = await snapshotTables(db);
    let caught: unknown;
    try {
      await call();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(type);
    expect((caught as Error).message).toMatch(message);
    expect(await snapshotTables(db)).toEqual(before);
  }

  const cronSpec = { name: "c", model: "app.work", function: "noop" };

  it("non-boolean values for boolean options", async () => {
    await jobs.enqueue("app.work.noop", { jobId: "k" });
    await refuses(
      () => jobs.enqueue("app.work.noop", { jobId: "k", deduplicate: "no" as never }),
      ValidationError,
      /deduplicate: expected true or false, got "no"/,
    );
    await refuses(() => jobs.enqueue("app.work.noop", { atFront: 1 as never }), ValidationError, /atFront/);
    await refuses(() => jobs.enqueue("app.work.noop", { now: "false" as never }), ValidationError, /now/);
    await refuses(() => jobs.enqueue("app.work.noop", { isAsync: "false" as never }), ValidationError, /isAsync/);
    await refuses(
      () => jobs.enqueue("app.work.noop", { enqueueAfterCommit: 0 as never }),
      ValidationError,
      /enqueueAfterCommit/,
    );
    await refuses(() => jobs.enqueue("app.work.noop", { trackJob: "yes" as never }), ValidationError, /trackJob/);
    await refuses(
      () => jobs.enqueueBulk([{ method: "app.work.noop", options: { atFront: "yes" as never } }]),
      ValidationError,
      /atFront/,
    );
    await refuses(() => service.createCron({ ...cronSpec, doall: "no" as never }), ValidationError, /doall/);
    await refuses(() => service.createCron({ ...cronSpec, active: "no" as never }), ValidationError, /active/);
    const cron = await service.createCron(cronSpec);
    await refuses(() => service.setActive(cron.id, "no" as never), ValidationError, /active: expected true or false/);
    await refuses(
      () => scheduler.createType({ method: "app.work.noop", frequency: "Daily", stopped: "no" as never }),
      ValidationError,
      /stopped/,
    );
    const type = await scheduler.createType({ method: "app.work.noop", frequency: "Daily" });
    await refuses(() => scheduler.setStopped(type.id, 1 as never), ValidationError, /stopped/);
    await refuses(() => scheduler.setControl({ paused: "yes" as never }), ValidationError, /paused/);
    expect(() => new Scheduler(db.dataSource, { registry, catchUp: "yes" as never })).toThrow(/catchUp/);
  });

  it("an empty cron expression is refused, not turned into a daily interval; so is a cron expression with an interval", async () => {
    await refuses(
      () => service.createCron({ ...cronSpec, cronExpression: "" }),
      ValidationError,
      /cron_expression: .*must be a non-empty cron expression/,
    );
    await refuses(
      () => service.createCron({ ...cronSpec, cronExpression: "0 2 * * *", intervalType: "hours" }),
      ValidationError,
      /either cronExpression or intervalNumber/,
    );
    await refuses(
      () => scheduler.createType({ method: "app.work.noop", frequency: "Daily", cronFormat: "0 2 * * *" }),
      ValidationError,
      /only used with frequency "Cron"/,
    );
  });

  it.each(["UTC+99", "UTC-13", "UTC+5:75", "local", "system"])("time zone %s is refused", async (tz) => {
    await refuses(() => service.createCron({ ...cronSpec, timeZone: tz }), ValidationError, /unknown time zone/);
    await refuses(
      () => service.createCron({ ...cronSpec, cronExpression: "0 2 * * *", timeZone: tz }),
      ValidationError,
      /unknown time zone/,
    );
    await refuses(
      () => scheduler.createType({ method: "app.work.noop", frequency: "Cron", cronFormat: "0 2 * * *", timeZone: tz }),
      ValidationError,
      /unknown time zone/,
    );
  });

  it("real fixed offsets and IANA zones are still accepted", async () => {
    for (const tz of ["UTC", "UTC+14", "UTC-12", "UTC+5:30", "Etc/GMT+12", "Asia/Kathmandu"]) {
      await service.createCron({ ...cronSpec, timeZone: tz });
    }
    expect(await count(db, "ir_cron")).toBe(6);
  });

  it.each([[[1, 2]], ["text"], [null], [42], [new Map()]])(
    "kwargs %p that is not a plain object is refused",
    async (kwargs) => {
      await refuses(
        () => jobs.enqueue("app.work.noop", { kwargs: kwargs as never }),
        ValidationError,
        /Invalid kwargs: (expected a plain object|null is not a value)/,
      );
      await refuses(
        () => jobs.enqueueDoc("app.work", 1, "noop", { kwargs: kwargs as never }),
        ValidationError,
        /kwargs/,
      );
    },
  );

  it("a manager that is not inside an open transaction (or belongs to another DataSource) is refused instead of committing on its own", async () => {
    const outside = db.dataSource.manager;
    await refuses(
      () => service.runByCron("j", "app.work", "noop", [], 10, undefined, undefined, { manager: outside }),
      ValidationError,
      /not inside an open transaction/,
    );
    await refuses(
      () => service.createCron(cronSpec, { manager: outside }),
      ValidationError,
      /not inside an open transaction/,
    );
    await refuses(
      () => jobs.enqueue("app.work.noop", { manager: outside }),
      ValidationError,
      /not inside an open transaction/,
    );
    await refuses(
      () => jobs.enqueueBulk([{ method: "app.work.noop" }], { manager: outside }),
      ValidationError,
      /not inside an open transaction/,
    );
    // A transaction's manager kept after it committed.
    let ended = outside;
    await db.dataSource.transaction(async (manager) => {
      ended = manager;
    });
    await refuses(
      () => jobs.enqueue("app.work.noop", { manager: ended }),
      ValidationError,
      /not inside an open transaction/,
    );
    const other = await openTestDb(kind);
    try {
      await other.dataSource.transaction(async (manager) => {
        await refuses(() => jobs.enqueue("app.work.noop", { manager }), ValidationError, /another DataSource/);
      });
    } finally {
      await other.close();
    }
    await refuses(
      () => jobs.enqueue("app.work.noop", { manager: {} as never }),
      ValidationError,
      /expected the EntityManager/,
    );
  });

  it("args nested deeper than 64 levels are refused (not a stack overflow)", async () => {
    const nest = (depth: number) => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = [value];
      return value;
    };
    await service.runByCron("ok", "app.work", "noop", [nest(63)]); // 64 levels with the args array itself
    await refuses(
      () => service.runByCron("deep", "app.work", "noop", [nest(64)]),
      ValidationError,
      /nested more than 64 levels/,
    );
    await refuses(
      () => jobs.enqueue("app.work.noop", { args: [nest(100_000)] }),
      ValidationError,
      /nested more than 64 levels/,
    );
    await refuses(
      () => jobs.enqueue("app.work.noop", { kwargs: { a: nest(100_000) } }),
      ValidationError,
      /nested more than 64 levels/,
    );
  });

  it("listing filters are checked: a NaN limit, an unknown state, a zero user id", async () => {
    await refuses(
      () => service.listJobs({ limit: NaN }),
      ValidationError,
      /limit: expected an integer from 1 to 100000, got NaN/,
    );
    await refuses(() => service.listJobs({ limit: -1 }), ValidationError, /limit/);
    await refuses(
      () => service.listJobs({ state: "bogus" as never }),
      ValidationError,
      /state: must be one of pending/,
    );
    await refuses(() => service.listJobs({ userId: 0 }), ValidationError, /userId/);
    await refuses(() => service.listRuns({ limit: Infinity }), ValidationError, /limit/);
    await refuses(() => service.listJobs({ sate: "failed" } as never), ValidationError, /unknown option sate/);
  });

  it("a stored timeout above Node's timer limit waits (it used to time out at once); timer options above it are refused", async () => {
    const job = (await jobs.enqueue("app.work.slow", {})) as HrpCronJob;
    // PostgreSQL's integer column cannot hold more than 2^31 - 1; SQLite can.
    const stored = kind === "sqlite" ? 3_000_000_000 : 2 ** 31 - 1;
    const backend = backendFor(db.dataSource);
    await backend.transaction((m) =>
      backend.execute(m, `UPDATE hrp_cron_job SET timeout_ms = ? WHERE id = ?`, [stored, job.id]),
    );
    const [result] = await new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() }).runDue();
    expect([result.outcome, result.error]).toEqual(["done", undefined]);
    expect(() => new Dispatcher(db.dataSource, registry, { pollIntervalMs: 2 ** 31 })).toThrow(ValidationError);
    expect(
      () => new Dispatcher(db.dataSource, registry, { heartbeatIntervalMs: 2 ** 31, workerTimeoutMs: 2 ** 32 }),
    ).toThrow(/heartbeatIntervalMs/);
    await refuses(() => jobs.enqueue("app.work.noop", { timeoutMs: 2 ** 31 }), ValidationError, /timeoutMs/);
    expect(() => new JobQueue(db.dataSource, { registry, workers: { reports: { timeoutMs: 2 ** 31 } } })).toThrow(
      ValidationError,
    );
  });

  it("misspelt or unknown options are refused instead of ignored", async () => {
    await refuses(
      () => jobs.enqueue("app.work.noop", { dedupe: true } as never),
      ValidationError,
      /unknown option dedupe/,
    );
    await refuses(
      () => service.createCron({ ...cronSpec, interval: 2 } as never),
      ValidationError,
      /unknown option interval/,
    );
    await refuses(() => jobs.purge({ finishedOlderThanDays: 1 } as never), ValidationError, /unknown option/);
    // Frappe's `timeout` (seconds) would silently keep the default timeout.
    expect(() => new JobQueue(db.dataSource, { registry, workers: { reports: { timeout: 300 } as never } })).toThrow(
      /unknown option timeout/,
    );
  });

  it("wrong shapes give a named error, not a TypeError", async () => {
    const revoked = Proxy.revocable([], {});
    revoked.revoke();
    await refuses(() => jobs.enqueue("app.work.noop", null as never), ValidationError, /options/);
    await refuses(() => jobs.enqueue("app.work.noop", { args: revoked.proxy }), ValidationError, /args/);
    await refuses(() => service.runByCron("n", "app.work", "noop", revoked.proxy), ValidationError, /args/);
    await refuses(() => service.createCron(null as never), ValidationError, /spec/);
    await refuses(() => service.listJobs(null as never), ValidationError, /filter/);
    await refuses(() => jobs.purge(null as never), ValidationError, /options/);
    await refuses(() => jobs.stats("yesterday" as never), ValidationError, /now/);
    await refuses(
      // eslint-disable-next-line no-sparse-arrays
      () => jobs.enqueueBulk([{ method: "app.work.noop" }, , { method: "app.work.noop" }] as never),
      ValidationError,
      /hole/,
    );
    await refuses(() => new Dispatcher(db.dataSource, registry).runNow("1" as never), ValidationError, /cronId/);
    expect(() => new Dispatcher(db.dataSource, undefined as never)).toThrow(/registry: expected a ModelRegistry/);
    expect(() => new Dispatcher(db.dataSource, registry, { queues: "short" as never })).toThrow(
      /queues: expected an array/,
    );
    expect(() => new JobQueue(db.dataSource, { registry, now: "2026-01-01" as never })).toThrow(
      /now: expected a function/,
    );
    expect(() => new ModelRegistry().register("app.x", null as never)).toThrow(ValidationError);
    await expect(
      new Scheduler(db.dataSource, { registry, schedulerEvents: { daily: "app.work.noop" as never } }).sync(),
    ).rejects.toThrow(/schedulerEvents.daily: expected an array/);
    await refuses(() => jobs.enqueue("app.work.noop", { queue: 7 as never }), ValidationError, /queue/);
    await refuses(
      () => jobs.enqueue("app.work.noop", { queue: "nope" }),
      UnknownQueueError,
      /Queue "nope" does not exist/,
    );
  });

  it("names with a NUL character or broken unicode are refused (PostgreSQL cannot store the one, both mangle the other)", async () => {
    await refuses(() => service.runByCron("a\u0000b", "app.work", "noop"), ValidationError, /NUL/);
    await refuses(() => jobs.enqueue("app.work.noop", { jobName: "bad \ud800 name" }), ValidationError, /surrogate/);
    await refuses(() => jobs.enqueue("app.work.noop", { jobId: "x\u0000" }), ValidationError, /NUL/);
    await service.runByCron("emoji 😀 and 中文 are fine", "app.work", "noop", [
      "\u0000 and \ud800 inside args are JSON-escaped",
    ]);
    const [row] = await db.dataSource.manager.find(HrpCronJob);
    expect(JSON.parse(row.args)).toEqual(["\u0000 and \ud800 inside args are JSON-escaped"]);
  });

  it("hrp-cron add-job-type with both --cron and --frequency is bad usage (exit 2), not a Cron type", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-usage-"));
    const saved = process.env.HRP_CRON_DB;
    process.env.HRP_CRON_DB = join(dir, "never.sqlite");
    try {
      const err: string[] = [];
      const code = await main(["add-job-type", "app.work.noop", "--cron", "0 2 * * *", "--frequency", "Daily"], {
        out: () => undefined,
        err: (t) => err.push(t),
        stopRequested: new Promise(() => undefined),
      });
      expect(code).toBe(2);
      expect(err.join("\n")).toMatch(/--cron EXPRESSION or --frequency NAME, not both/);
      expect(existsSync(join(dir, "never.sqlite"))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.HRP_CRON_DB;
      else process.env.HRP_CRON_DB = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [`module.exports = { schedulerEvent: { daily: [] } };`, /unknown key "schedulerEvent"/],
    [`module.exports = { workers: { reports: { timeout: 300 } } };`, /unknown option timeout/],
    [`module.exports = { dispatcher: { pollInterval: 100 } };`, /unknown option pollInterval/],
    [`module.exports = { schedulerIntervalMinutes: "4" };`, /"schedulerIntervalMinutes" must be number/],
  ])("a config file with a misspelt key or a wrong kind of value is refused (%s)", async (source, message) => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-config-"));
    const saved = process.env.HRP_CRON_DB;
    process.env.HRP_CRON_DB = join(dir, "never.sqlite");
    try {
      writeFileSync(join(dir, "hrp-cron.config.js"), source);
      const err: string[] = [];
      const code = await main(["worker", "--burst", "--config", join(dir, "hrp-cron.config.js")], {
        out: () => undefined,
        err: (t) => err.push(t),
        stopRequested: new Promise(() => undefined),
      });
      expect([code, err.join("\n")]).toEqual([1, expect.stringMatching(message)]);
      expect(existsSync(join(dir, "never.sqlite"))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.HRP_CRON_DB;
      else process.env.HRP_CRON_DB = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("methods still receive what was enqueued", async () => {
    const seen: unknown[] = [];
    const r = new ModelRegistry().register("app.echo", {
      take(_env: JobEnv, ...args: unknown[]) {
        seen.push(args);
      },
    });
    await new JobQueue(db.dataSource, { registry: r }).enqueue("app.echo.take", { kwargs: { a: [1, { b: null }] } });
    await new Dispatcher(db.dataSource, r, { logger: memoryLogger() }).runDue();
    expect(seen).toEqual([[{ a: [1, { b: null }] }]]);
  });
});
