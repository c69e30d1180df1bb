import { join } from "node:path";
import { Dispatcher, HrpCronJobService, JobQueue, ModelRegistry, type HrpCronJob } from "../../src";
import { TestEffect } from "../fixtures/TestEffect";
import { BACKENDS, countClaims, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Hard timeouts: a job stuck in a synchronous loop is killed with its thread; the worker goes on. */
describe.each(BACKENDS)("sandboxed runs on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("test.model", { spin() {}, ok() {} });
  beforeEach(async () => {
    db = await openTestDb(kind);
    process.env.HRP_TEST_LOCATION = JSON.stringify(db.location);
  });
  afterEach(() => db.close());

  it("kills a busy-looping job at its timeout, rolls it back, fails it, and keeps serving", async () => {
    const jobs = new JobQueue(db.dataSource, { registry });
    const spin = (await jobs.enqueue("test.model.spin", { kwargs: { key: "spin" }, timeoutMs: 300 })) as HrpCronJob;
    const ok = (await jobs.enqueue("test.model.ok", { kwargs: { key: "ok" } })) as HrpCronJob;
    const logger = memoryLogger();
    const dispatcher = new Dispatcher(db.dataSource, registry, {
      logger,
      sandbox: { configPath: join(__dirname, "..", "fixtures", "sandbox.config.js"), hardKillGraceMs: 200 },
    });
    try {
      const results = await dispatcher.runDue();
      expect(results.map((r) => r.outcome)).toEqual(["failed", "done"]);
    } finally {
      await dispatcher.stop();
    }
    const service = new HrpCronJobService(db.dataSource);
    const failed = await service.getJob(spin.id);
    expect(failed.state).toBe("failed");
    expect(failed.excInfo).toMatch(/timed out after 0\.3 s/);
    expect((await service.getJob(ok.id)).state).toBe("done");
    expect((await db.dataSource.manager.find(TestEffect)).map((e) => e.key)).toEqual(["ok"]); // "before spinning" rolled back
    expect(await countClaims(db)).toBe(0);
    expect(logger.lines.join("\n")).toMatch(/terminating its thread/);
  });
});
