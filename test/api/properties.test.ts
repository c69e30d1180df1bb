import fc from "fast-check";
import {
  Dispatcher,
  HrpCronError,
  HrpCronJobService,
  JobQueue,
  ModelRegistry,
  Scheduler,
  runAsUser,
  type HrpCronJob,
} from "../../src";
import { drain, enqueuedJobs, expectEnqueued, expectRun, runJob, testClock } from "../../src/testing";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import {
  anyValue,
  realize,
  badArgs,
  badBool,
  badCron,
  badDate,
  badId,
  badInt,
  badKwargs,
  badName,
  badOptions,
  badTimeZone,
  corruptOne,
} from "../junk";
import { snapshotTables, tableNames } from "../tableSnapshot";

/**
 * Issue 12: property-based tests over every public entry point. Random
 * malformed input (one field of an otherwise valid call made wrong, or the
 * whole argument replaced by junk) must always give a named HrpCronError
 * subclass — never a TypeError, RangeError, TypeORMError or driver error —
 * and leave every table exactly as it was.
 *
 * Runs are modest so the suite stays fast; HRP_CRON_FC_RUNS and
 * HRP_CRON_FC_SEED explore more (the seed of a failure is printed).
 */
const RUNS = Number(process.env.HRP_CRON_FC_RUNS ?? 40);
const SEED = process.env.HRP_CRON_FC_SEED === undefined ? 12_2026 : Number(process.env.HRP_CRON_FC_SEED);

const isPlain = (v: unknown) =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  [Object.prototype, null].includes(Object.getPrototypeOf(v));

const ENQUEUE_KEYS = [
  "queue",
  "timeoutMs",
  "now",
  "isAsync",
  "jobName",
  "jobId",
  "deduplicate",
  "atFront",
  "runAt",
  "delayMs",
  "manager",
  "enqueueAfterCommit",
  "onSuccess",
  "onFailure",
  "trackJob",
  "priority",
  "kwargs",
  "args",
  "maxRetries",
  "retryBackoffMs",
  "concurrencyKey",
  "concurrencyLimit",
  "userId",
];

describe.each(BACKENDS)(
  "property: malformed input to any entry point is a named error and writes nothing, on %s",
  (kind) => {
    let db: TestDb;
    const registry = new ModelRegistry().register("app.work", {
      noop() {},
      other() {},
      boom() {
        throw new Error("boom");
      },
    });
    let service: HrpCronJobService;
    let jobs: JobQueue;
    let scheduler: Scheduler;
    const seeded = { cronId: 0, pendingJobId: 0, failedJobId: 0, typeId: 0 };
    let tables: string[] = [];

    beforeAll(async () => {
      db = await openTestDb(kind);
      const now = () => new Date("2026-11-23T10:00:00Z");
      service = new HrpCronJobService(db.dataSource, { registry, now });
      jobs = new JobQueue(db.dataSource, { registry, now, workers: { reports: { timeoutMs: 60_000 } } });
      scheduler = new Scheduler(db.dataSource, { registry, now, logger: memoryLogger() });
      // Something of every kind, so that calls with good ids but bad other fields have rows to (not) touch.
      seeded.cronId = (await service.createCron({ name: "cron", model: "app.work", function: "noop" })).id;
      seeded.failedJobId = (await service.runByCron("fails", "app.work", "boom")).id;
      await new Dispatcher(db.dataSource, registry, { now, logger: memoryLogger() }).runDue();
      seeded.pendingJobId = ((await jobs.enqueue("app.work.noop", { jobId: "live" })) as HrpCronJob).id;
      await db.dataSource.query(
        `UPDATE ir_cron SET nextcall = nextcall + ${kind === "sqlite" ? "0" : "INTERVAL '1 day'"}`,
      );
      seeded.typeId = (await scheduler.createType({ method: "app.work.noop", frequency: "Daily" })).id;
      tables = await tableNames(db);
    });
    afterAll(() => db.close());

    /** The property: `call` throws (or rejects with) a named HrpCronError subclass and no table changed. */
    async function refusedCleanly(call: () => unknown): Promise<void> {
      const before = await snapshotTables(db, tables);
      let caught: unknown = "returned normally";
      try {
        await call();
      } catch (error) {
        caught = error;
      }
      if (!(caught instanceof HrpCronError) || caught.constructor === HrpCronError || !caught.message) {
        throw new Error(
          `expected a named HrpCronError subclass, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`,
        );
      }
      expect(await snapshotTables(db, tables)).toEqual(before);
    }

    const check = <T>(arb: fc.Arbitrary<T>, call: (input: T) => unknown) =>
      fc.assert(
        fc.asyncProperty(arb, (input) => refusedCleanly(() => call(realize(input)))),
        { numRuns: RUNS, seed: SEED, verbose: process.env.HRP_CRON_FC_VERBOSE ? 2 : 0 },
      );

    // --- HrpCronJobService -----------------------------------------------------

    it("runByCron", async () => {
      const base = {
        name: "n",
        model: "app.work",
        fn: "noop",
        args: [] as unknown,
        priority: 10 as unknown,
        userId: undefined as unknown,
        date: undefined as unknown,
        options: {} as unknown,
      };
      await check(
        fc.oneof(
          corruptOne(base, {
            name: badName(),
            model: badName(128).filter((v) => v !== "app.work"),
            fn: badName(128).filter((v) => v !== "noop"),
            args: badArgs,
            priority: badInt(-1_000_000, 1_000_000),
            userId: badId(true, true, true),
            date: badDate(),
            options: badOptions(["manager"]),
          }),
          fc.constant({ ...base, options: { manager: db?.dataSource.manager } }),
          badId()
            .filter((v) => v !== undefined && v !== null)
            .map((uid) => ({ ...base, ambient: uid })),
        ),
        (c) => {
          const ambient = (c as { ambient?: unknown }).ambient;
          if (ambient !== undefined)
            return runAsUser(ambient as number, () => service.runByCron(c.name, c.model, c.fn));
          return service.runByCron(
            c.name,
            c.model,
            c.fn,
            c.args as unknown[],
            c.priority as number,
            c.userId as number,
            c.date as Date,
            c.options as never,
          );
        },
      );
    });

    it("runByCronBulk", async () => {
      const good = { name: "n", model: "app.work", function: "noop" };
      await check(
        fc.oneof(
          anyValue.filter((v) => !Array.isArray(v)).map((list) => [list, undefined]),
          fc
            .tuple(
              fc.nat(3),
              fc.oneof(
                anyValue,
                corruptOne<Record<string, unknown>>(good, {
                  name: badName(),
                  model: badName(128).filter((v) => v !== "app.work"),
                  function: badName(128).filter((v) => v !== "noop"),
                  args: badArgs,
                  priority: badInt(-1_000_000, 1_000_000),
                  userId: badId(true, true),
                  dateCreated: badDate(),
                  fn: anyValue,
                }),
              ),
            )
            .map(([at, bad]) => [
              [good, good, good].slice(0, at).concat([bad as never], [good, good, good].slice(at)),
              undefined,
            ]),
          badOptions(["manager"]).map((options) => [[good], options]),
        ),
        ([list, options]) => service.runByCronBulk(list as never, options as never),
      );
    });

    it("createCron", async () => {
      const spec = { name: "c", model: "app.work", function: "noop" };
      await check(
        fc.oneof(
          corruptOne<Record<string, unknown>>(spec, {
            name: badName(),
            model: badName(128).filter((v) => v !== "app.work"),
            function: badName(128).filter((v) => v !== "noop"),
            args: badArgs,
            priority: badInt(-1_000_000, 1_000_000),
            userId: badId(true, true),
            intervalNumber: badInt(1, 60 * 24 * 366 * 100),
            intervalType: anyValue.filter(
              (v) =>
                v !== undefined && !["minutes", "hours", "days", "work_days", "weeks", "months"].includes(v as string),
            ),
            cronExpression: badCron,
            timeZone: badTimeZone,
            nextcall: badDate(),
            numbercall: badInt(-1, 2 ** 31 - 1),
            doall: badBool,
            active: badBool,
          }),
          badOptions(Object.keys(spec)).map((bad) =>
            typeof bad === "object" && bad !== null && Object.getPrototypeOf(bad) === Object.prototype
              ? { ...spec, ...bad }
              : bad,
          ),
        ),
        (spec) => service.createCron(spec as never),
      );
      await check(badOptions(["manager"]), (options) => service.createCron(spec, options as never));
    });

    it("trigger, setActive, deleteCron, getCron", async () => {
      await check(badId(), (id) => service.trigger(id as number));
      await check(badId(), (id) => service.deleteCron(id as number));
      await check(badId(), (id) => service.getCron(id as number));
      await check(
        fc.oneof(
          badId().map((id) => [id, true]),
          badBool.map((active) => [seeded.cronId, active]),
        ),
        ([id, active]) => service.setActive(id as number, active as boolean),
      );
    });

    it("retryJob, cancelJob, getJob", async () => {
      await check(
        fc.oneof(
          badId().map((id) => [id, undefined]),
          badDate().map((at) => [seeded.failedJobId, at]),
        ),
        ([id, at]) => service.retryJob(id as number, at as Date),
      );
      await check(badId(), (id) => service.cancelJob(id as number));
      await check(badId(), (id) => service.getJob(id as number));
    });

    it("listJobs, listRuns", async () => {
      const filterKeys = ["state", "queue", "model", "function", "userId", "since", "until", "limit"];
      await check(
        fc.oneof(
          badOptions(filterKeys),
          corruptOne<Record<string, unknown>>(
            {},
            {
              state: anyValue.filter(
                (v) =>
                  v !== undefined &&
                  !["pending", "running", "done", "failed", "cancelled", "stopped"].includes(v as string),
              ),
              queue: badName(256, true),
              model: badName(256, true),
              function: badName(256, true),
              userId: badId(false, true),
              since: badDate(),
              until: badDate(),
              limit: badInt(1, 100_000),
            },
          ),
        ),
        (filter) => service.listJobs(filter as never),
      );
      await check(
        fc.oneof(
          badOptions(["cronId", "jobId", "limit"]),
          corruptOne<Record<string, unknown>>(
            {},
            { cronId: badId(false, true), jobId: badId(false, true), limit: badInt(1, 100_000) },
          ),
        ),
        (filter) => service.listRuns(filter as never),
      );
    });

    // --- hrp-cron/testing -------------------------------------------------------

    it("hrp-cron/testing: drain, runJob, job and run expectations, testClock", async () => {
      const quiet = { logger: memoryLogger(), now: () => new Date("2026-11-23T10:00:00Z") };
      await check(
        fc.oneof(
          badOptions(["maxRuns", "throwOnFailure", "now", "queues", "logger", "workers"]),
          corruptOne<Record<string, unknown>>(quiet, {
            maxRuns: badInt(1, Number.MAX_SAFE_INTEGER),
            throwOnFailure: badBool,
            now: anyValue.filter((v) => v !== undefined && typeof v !== "function"),
            queues: anyValue.filter((v) => v !== undefined && !Array.isArray(v)),
          }),
        ),
        (options) => drain(db.dataSource, registry, options as never),
      );
      await check(badId(), (id) => runJob(db.dataSource, registry, id as number, quiet));
      await check(
        fc.oneof(
          badOptions(["method", "name", "args", "kwargs", "userId", "queue", "runAt", "state"]),
          corruptOne<Record<string, unknown>>(
            {},
            {
              method: anyValue.filter((v) => v !== undefined && !(typeof v === "string" && /^[^.]+\.[^.]+$/.test(v))),
              args: anyValue.filter((v) => v !== undefined && !Array.isArray(v) && typeof v !== "function"),
              kwargs: badKwargs,
              userId: badId(false, true),
              runAt: badDate(),
              state: anyValue.filter(
                (v) =>
                  v !== undefined &&
                  !["pending", "running", "done", "failed", "cancelled", "stopped"].includes(v as string),
              ),
            },
          ),
        ),
        async (match) => {
          await enqueuedJobs(db.dataSource, match as never);
          await expectEnqueued(db.dataSource, match as never);
        },
      );
      await check(
        corruptOne<Record<string, unknown>>({}, { jobId: badId(false, true), cronId: badId(false, true) }),
        (match) => expectRun(db.dataSource, match as never),
      );
      await check(
        anyValue.filter((v) => v !== undefined && !(v instanceof Date) && typeof v !== "string"),
        (start) => testClock(start as never),
      );
      await check(anyValue, (by) => testClock("2026-11-23T10:00:00Z").advance(by as never));
    });

    // --- JobQueue --------------------------------------------------------------

    const badEnqueueOptions = fc.oneof(
      badOptions(ENQUEUE_KEYS),
      corruptOne<Record<string, unknown>>(
        {},
        {
          queue: fc.oneof(
            badName(64),
            fc.string().filter((q) => !["short", "default", "long", "reports"].includes(q)),
          ),
          timeoutMs: badInt(1, 7 * 24 * 3600 * 1000),
          now: badBool,
          isAsync: badBool,
          jobName: badName(),
          jobId: badName(),
          deduplicate: badBool,
          atFront: badBool,
          runAt: badDate(),
          delayMs: badInt(0, 100 * 366 * 24 * 3_600_000),
          manager: fc.oneof(
            anyValue.filter((v) => v !== undefined),
            fc.constant(null).map(() => db.dataSource.manager),
          ),
          enqueueAfterCommit: badBool,
          onSuccess: fc.oneof(
            anyValue.filter((v) => v !== undefined),
            fc.constant(() => 1),
          ),
          onFailure: anyValue.filter((v) => v !== undefined),
          trackJob: badBool,
          priority: badInt(-1_000_000, 1_000_000),
          kwargs: badKwargs,
          args: badArgs,
          maxRetries: badInt(0, 1000),
          retryBackoffMs: fc.oneof(
            anyValue.filter((v) => v !== undefined && !Array.isArray(v)),
            fc.constant([]),
            badInt(0, 7 * 24 * 3600 * 1000).map((d) => [d]),
          ),
          concurrencyKey: badName(128),
          concurrencyLimit: anyValue.filter((v) => v !== undefined),
          userId: badId(true, true),
        },
      ),
      fc.constant({ jobId: "live" }), // already pending, no deduplicate
      fc.constant({ deduplicate: true }), // no jobId
      fc.constant({ args: [], kwargs: {} }),
    );

    it("enqueue", async () => {
      await check(
        fc.oneof(
          fc.record({
            method: anyValue.filter((v) => v !== "app.work.noop"),
            options: fc.constant(undefined as unknown),
          }),
          fc.record({
            method: fc.constant("app.work.noop" as unknown),
            options: badEnqueueOptions as fc.Arbitrary<unknown>,
          }),
        ),
        ({ method, options }) => jobs.enqueue(method as string, options as never),
      );
    });

    it("enqueueDoc", async () => {
      await check(
        fc.oneof(
          badName(128).map((model) => [model, 1, "noop", undefined]),
          anyValue
            .filter((id) => !(typeof id === "string" ? id.length > 0 : Number.isSafeInteger(id)))
            .map((id) => ["app.work", id, "noop", undefined]),
          badName(128).map((method) => ["app.work", 1, method, undefined]),
          badEnqueueOptions.map((options) => ["app.work", 1, "noop", options]),
        ),
        ([model, id, method, options]) =>
          jobs.enqueueDoc(model as string, id as number, method as string, options as never),
      );
    });

    it("enqueueBulk", async () => {
      const good = { method: "app.work.noop" };
      await check(
        fc.oneof(
          anyValue.filter((v) => !Array.isArray(v)).map((list) => [list, undefined]),
          fc
            .tuple(
              fc.nat(3),
              fc.oneof(
                anyValue,
                anyValue.map((method) => ({ method })),
                badEnqueueOptions.map((options) => ({ method: "app.work.noop", options })),
              ),
            )
            .map(([at, bad]) => [
              [good, good, good].slice(0, at).concat([bad as never], [good, good, good].slice(at)),
              undefined,
            ]),
          badOptions(["manager"]).map((options) => [[good], options]),
        ),
        ([list, options]) => jobs.enqueueBulk(list as never, options as never),
      );
    });

    it("stopJob, purge, stats", async () => {
      await check(fc.oneof(badId(), fc.constant(seeded.pendingJobId)), (id) => jobs.stopJob(id as number));
      await check(
        fc.oneof(
          badOptions(["finishedOlderThanMs", "failedOlderThanMs"]),
          corruptOne<Record<string, unknown>>(
            {},
            {
              finishedOlderThanMs: badInt(0, Number.MAX_SAFE_INTEGER),
              failedOlderThanMs: badInt(0, Number.MAX_SAFE_INTEGER),
            },
          ),
        ),
        (options) => jobs.purge(options as never),
      );
      await check(
        badDate(false).filter((v) => v !== undefined),
        (now) => jobs.stats(now as Date),
      );
    });

    // --- Scheduler -------------------------------------------------------------

    it("Scheduler: createType, setStopped (stop/start), setControl, sync", async () => {
      const spec = { method: "app.work.other", frequency: "Daily" };
      await check(
        fc.oneof(
          badOptions(["method", "frequency", "cronFormat", "queue", "userId", "timeZone", "stopped"]),
          corruptOne<Record<string, unknown>>(spec, {
            method: anyValue.filter((v) => v !== "app.work.other"),
            frequency: anyValue.filter((v) => v !== undefined),
            cronFormat: anyValue.filter((v) => v !== undefined),
            queue: fc.oneof(
              badName(64),
              fc.string().filter((q) => !["short", "default", "long"].includes(q)),
            ),
            userId: badId(true, true),
            timeZone: badTimeZone,
            stopped: badBool,
          }),
          badCron.map((cronFormat) => ({ ...spec, frequency: "Cron", cronFormat })),
          fc.constant({ method: "app.work.noop", frequency: "Daily" }), // exists already
        ),
        (s) => scheduler.createType(s as never),
      );
      await check(
        fc.oneof(
          badId().map((id) => [id, true]),
          badBool.map((stopped) => [seeded.typeId, stopped]),
        ),
        ([id, stopped]) => scheduler.setStopped(id as number, stopped as boolean),
      );
      await check(
        fc.oneof(
          badOptions(["paused", "enabled"]),
          badBool.map((paused) => ({ paused })),
          badBool.map((enabled) => ({ enabled })),
        ),
        (change) => scheduler.setControl(change as never),
      );
      await check(
        fc.oneof(
          badOptions([]).filter((v) => !isPlain(v)),
          anyValue.filter((v) => v !== undefined && !Array.isArray(v)).map((list) => ({ daily: list })),
          anyValue.filter((v) => typeof v !== "string").map((item) => ({ hourly: [item] })),
          fc
            .string()
            .filter(
              (e) =>
                !["all", "hourly", "daily", "weekly", "monthly", "yearly", "cron", "cron_long"].includes(e) &&
                !e.endsWith("_long") &&
                e !== "__proto__",
            )
            .map((e) => ({ [e]: ["app.work.noop"] })),
          badCron
            .filter((e) => typeof e === "string")
            .map((expression) => ({ cron: { [expression as string]: ["app.work.noop"] } })),
          fc.constant({ daily: ["app.work.missing"] }),
        ),
        (events) =>
          new Scheduler(db.dataSource, { registry, schedulerEvents: events as never, logger: memoryLogger() }).sync(),
      );
    });

    // --- Constructors and Dispatcher options -----------------------------------

    it("Dispatcher, JobQueue, Scheduler and HrpCronJobService options; Dispatcher.runNow, runJob and runDue", async () => {
      const ms = (max = 2 ** 31 - 1) => badInt(1, max);
      await check(
        fc.oneof(
          badOptions(["queues", "concurrency", "pollIntervalMs", "batchSize", "logger", "now"]).filter(
            (v) => typeof v !== "object" || v === null || Array.isArray(v) || Object.keys(v).length > 0,
          ),
          corruptOne<Record<string, unknown>>(
            {},
            {
              queues: fc.oneof(
                anyValue.filter((v) => v !== undefined && !Array.isArray(v)),
                fc.constant([]),
                anyValue.filter((q) => !["short", "default", "long"].includes(q as string)).map((q) => [q]),
              ),
              workers: fc.oneof(
                badOptions([]).filter((v) => !isPlain(v)),
                anyValue
                  .filter((v) => v !== undefined)
                  .map((w) => ({ reports: w }))
                  .filter((w) => !isPlain(w.reports)),
                fc.constant({ "bad name!": {} }),
              ),
              sandbox: anyValue.filter((v) => v !== undefined && v !== null),
              concurrency: badInt(1, 1000),
              pollIntervalMs: ms(),
              batchSize: badInt(1, 1000),
              batchMaxMs: badInt(0, Number.MAX_SAFE_INTEGER),
              heartbeatIntervalMs: ms(),
              workerTimeoutMs: badInt(1, Number.MAX_SAFE_INTEGER),
              recoveryIntervalMs: badInt(1, Number.MAX_SAFE_INTEGER),
              gracefulStopMs: badInt(0, 2 ** 31 - 1),
              abandonAfterAbortMs: badInt(0, 2 ** 31 - 1),
              maxCatchUpCalls: badInt(1, Number.MAX_SAFE_INTEGER),
              deactivateAfterFailures: badInt(1, Number.MAX_SAFE_INTEGER),
              deactivateAfterMs: badInt(0, Number.MAX_SAFE_INTEGER),
              now: anyValue.filter((v) => v !== undefined && typeof v !== "function"),
              userResolver: anyValue.filter((v) => v !== undefined),
              defaultUserId: badInt(1, Number.MAX_SAFE_INTEGER),
              logger: anyValue.filter((v) => v !== undefined),
              transientRetries: badInt(0, Number.MAX_SAFE_INTEGER),
              transientRetryBaseMs: badInt(0, Number.MAX_SAFE_INTEGER),
            },
          ),
        ),
        (options) => new Dispatcher(db.dataSource, registry, options as never),
      );
      await check(
        anyValue.filter((v) => !(v instanceof ModelRegistry)),
        (r) => new Dispatcher(db.dataSource, r as never),
      );
      await check(anyValue, (ds) => new Dispatcher(ds as never, registry));
      await check(badId(), (id) =>
        new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runNow(id as number),
      );
      await check(badId(), (id) =>
        new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runJob(id as number),
      );
      await check(
        fc.oneof(
          badOptions(["maxRuns"]),
          corruptOne<Record<string, unknown>>({}, { maxRuns: badInt(1, Number.MAX_SAFE_INTEGER) }),
        ),
        (options) => new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue(options as never),
      );
      await check(
        fc.oneof(
          anyValue.filter((v) => !(v instanceof ModelRegistry)).map((r) => ({ registry: r })),
          fc.record({
            registry: fc.constant(registry),
            workers: anyValue
              .filter((v) => v !== undefined)
              .map((w) => ({ q: w }))
              .filter((w) => !isPlain(w.q)),
          }),
          badOptions(["timeoutMs", "backgroundWorkers", "maxConcurrency", "maxRetries", "retryBackoffMs"]).map(
            (settings) => ({ registry, workers: { q: settings } }),
          ),
          corruptOne<Record<string, unknown>>(
            { registry },
            {
              now: anyValue.filter((v) => v !== undefined && typeof v !== "function"),
              defaultUserId: badInt(1, Number.MAX_SAFE_INTEGER),
            },
          ),
        ),
        (options) => new JobQueue(db.dataSource, options as never),
      );
      await check(
        corruptOne<Record<string, unknown>>(
          { registry },
          {
            schedulerIntervalMinutes: badInt(1, 59),
            tickIntervalMs: badInt(10, 3_600_000),
            leaseMs: badInt(100, 3_600_000),
            maxCatchUp: badInt(1, 10_000),
            catchUp: badBool,
            registry: anyValue.filter((v) => !(v instanceof ModelRegistry)),
          },
        ),
        (options) => new Scheduler(db.dataSource, options as never),
      );
      await check(
        fc.oneof(
          badOptions(["registry"]).filter((v) => v === null || typeof v !== "object"),
          anyValue.filter((v) => v !== undefined && !(v instanceof ModelRegistry)).map((r) => ({ registry: r })),
        ),
        (options) => new HrpCronJobService(db.dataSource, options as never),
      );
      await check(
        fc.oneof(
          anyValue.filter((m) => typeof m !== "string").map((m) => [m, {}]),
          anyValue.filter((v) => typeof v !== "object" || v === null).map((methods) => ["app.x", methods]),
        ),
        ([model, methods]) => new ModelRegistry().register(model as string, methods as never),
      );
    });
  },
);
