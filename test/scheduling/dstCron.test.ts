import { Dispatcher, HrpCronJobService, ModelRegistry, type JobEnv } from "../../src";
import { IrCron } from "../../src/schema/entities";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * A daily 02:30 New York cron across the night clocks spring forward
 * (2026-03-08, 02:00 -> 03:00), run by a real dispatcher with an injected
 * clock: it runs at 03:30 that day and at 02:30 again the next, whether its
 * runs succeed or fail.
 */
describe.each(BACKENDS)("an interval cron across a DST gap on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-03-07T07:30:00Z");
  let service: HrpCronJobService;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    db = await openTestDb(kind);
    const registry = new ModelRegistry().register("test.model", {
      async ok(_env: JobEnv) {},
      async fail(_env: JobEnv) {
        throw new Error("always fails");
      },
    });
    service = new HrpCronJobService(db.dataSource, { now: clock.now, registry });
    dispatcher = new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() });
  });
  afterEach(async () => {
    await dispatcher.stop();
    await db.close();
  });

  it.each(["ok", "fail"])("returns to 02:30 after the day it ran at 03:30 (method %s)", async (fn) => {
    const cron = await service.createCron({
      name: "Nightly",
      model: "test.model",
      function: fn,
      intervalType: "days",
      intervalNumber: 1,
      timeZone: "America/New_York",
      nextcall: new Date("2026-03-07T02:30:00-05:00"),
    });
    const nextcalls: string[] = [];
    for (let day = 0; day < 3; day++) {
      const { nextcall } = await db.dataSource.manager.findOneByOrFail(IrCron, { id: cron.id });
      clock.set(nextcall);
      const [result] = await dispatcher.runDue();
      expect(result.outcome).toBe(fn === "ok" ? "done" : "failed");
      nextcalls.push((await db.dataSource.manager.findOneByOrFail(IrCron, { id: cron.id })).nextcall.toISOString());
    }
    expect(nextcalls).toEqual([
      "2026-03-08T07:30:00.000Z", // 02:30 does not exist on 2026-03-08: 03:30 EDT
      "2026-03-09T06:30:00.000Z", // back to 02:30 (EDT)
      "2026-03-10T06:30:00.000Z",
    ]);
  });
});
