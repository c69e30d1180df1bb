import {
  Dispatcher,
  InvalidStateError,
  JobAdmin,
  JobQueue,
  ModelRegistry,
  ValidationError,
  type JobEnv,
} from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { snapshotTables } from "../tableSnapshot";

/** Retry or cancel every job matching a filter: a dry run first, a cap, one action row. */
describe.each(BACKENDS)("bulk operator actions on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("app.bank", {
    async pull(_env: JobEnv, kw: { n: number }) {
      throw new Error(kw.n % 2 === 0 ? "Connection REFUSED by bank" : "account 100% closed");
    },
    async later() {},
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  /** Five failed pulls (three "refused", two "100% closed") in two queues, two pending jobs. */
  async function given() {
    const queue = new JobQueue(db.dataSource, { registry, workers: { bank: {} } });
    const failed = [];
    for (let n = 0; n < 5; n++)
      failed.push((await queue.enqueue("app.bank.pull", { kwargs: { n }, queue: n < 3 ? "default" : "bank" }))!.id);
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), workers: { bank: {} } }).runDue();
    const future = new Date(Date.now() + 3_600_000);
    const pending = [];
    for (let n = 0; n < 2; n++) pending.push((await queue.enqueue("app.bank.later", { runAt: future }))!.id);
    return { failed, pending };
  }

  it("retries what a filter matches: a dry run names them, the action retries them in one go and logs one row", async () => {
    const { failed } = await given();
    const admin = new JobAdmin(db.dataSource);
    const refused = failed.filter((_, n) => n % 2 === 0); // 0, 2, 4
    const dry = await admin.retryJobs({ errorContains: "connection refused" }, { dryRun: true });
    expect(dry).toEqual({ action: "retry", jobIds: refused, dryRun: true });
    expect((await admin.listJobs({ state: "failed" })).length).toBe(5); // nothing changed
    expect(await admin.listActions()).toEqual([]);

    const done = await admin.retryJobs(
      { errorContains: "connection refused" },
      {},
      { by: "li.na", reason: "bank back" },
    );
    expect(done.jobIds).toEqual(refused);
    for (const id of refused) expect((await admin.getJob(id)).state).toBe("pending");
    expect((await admin.listJobs({ state: "failed" })).map((j) => j.id).sort((a, b) => a - b)).toEqual([
      failed[1],
      failed[3],
    ]);
    const [action] = await admin.listActions();
    expect([action.action, action.targetIds, action.affected, action.actor, action.reason, action.filter]).toEqual([
      "bulk_retry",
      refused,
      3,
      "li.na",
      "bank back",
      { errorContains: "connection refused", states: ["failed", "cancelled"] },
    ]);
    // A LIKE wildcard in the text is text: "100%" matches only the two "100% closed" errors.
    expect((await admin.retryJobs({ errorContains: "100%", queue: "bank" }, { dryRun: true })).jobIds).toEqual([
      failed[3],
    ]);
  });

  it("refuses more matching jobs than max, changing nothing", async () => {
    await given();
    const admin = new JobAdmin(db.dataSource);
    const before = await snapshotTables(db, ["hrp_cron_job", "hrp_cron_action"]);
    await expect(admin.retryJobs({ state: "failed" }, { max: 4 })).rejects.toThrow(InvalidStateError);
    await expect(admin.retryJobs({ state: "failed" }, { max: 4 })).rejects.toThrow(/more than 4 jobs match/);
    expect(await snapshotTables(db, ["hrp_cron_job", "hrp_cron_action"])).toEqual(before);
    expect((await admin.retryJobs({ state: "failed" }, { max: 5 })).jobIds).toHaveLength(5);
  });

  it("cancels pending jobs of a method, and only the states an action applies to", async () => {
    const { pending } = await given();
    const admin = new JobAdmin(db.dataSource);
    const report = await admin.cancelJobs({ model: "app.bank", function: "later" }, {}, { by: "ops", reason: "moved" });
    expect(report.jobIds).toEqual(pending);
    for (const id of pending) expect((await admin.getJob(id)).state).toBe("cancelled");
    expect((await admin.cancelJobs({ model: "app.bank", function: "later" })).jobIds).toEqual([]); // cancelled: not again
  });

  it("refuses a bad filter or options with a ValidationError, writing nothing", async () => {
    await given();
    const admin = new JobAdmin(db.dataSource);
    const before = await snapshotTables(db, ["hrp_cron_job", "hrp_cron_action"]);
    const bad: Array<[unknown, unknown]> = [
      [{ state: "done" }, {}], // retry applies to failed and cancelled jobs only
      [{ state: "nope" }, {}],
      [{ queue: "" }, {}],
      [{ userId: 0 }, {}],
      [{ since: new Date(Number.NaN) }, {}],
      [{ errorContains: "" }, {}],
      [{ colour: "red" }, {}],
      [{}, { max: 0 }],
      [{}, { max: 1.5 }],
      [{}, { dryRun: "yes" }],
      [null, {}],
    ];
    for (const [filter, options] of bad)
      await expect(admin.retryJobs(filter as never, options as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(admin.cancelJobs({ state: "cancelled" })).rejects.toBeInstanceOf(ValidationError);
    expect(await snapshotTables(db, ["hrp_cron_job", "hrp_cron_action"])).toEqual(before);
  });
});
