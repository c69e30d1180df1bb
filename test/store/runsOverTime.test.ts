import { Dispatcher, JobAdmin, JobQueue, ModelRegistry, type JobEnv } from "../../src";
import { backendFor } from "../../src/backend";
import { failingMethods, runsOverTime } from "../../src/store/health";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/**
 * The throughput query of the dashboard's overview: runs counted per period
 * by the database (`Backend.timeBucket`), on both databases, from runs a real
 * dispatcher ran at known times.
 */
describe.each(BACKENDS)("runsOverTime on %s", (kind) => {
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  const registry = new ModelRegistry().register("hrp.lab", {
    async result(_env: JobEnv, kw: { fail?: boolean }) {
      if (kw.fail) throw new Error("analyser offline");
    },
  });

  /** Runs `fails` failing and `oks` succeeding jobs with the clock at `at`. */
  async function runAt(clock: ReturnType<typeof fixedClock>, at: string, oks: number, fails: number) {
    clock.set(at);
    const queue = new JobQueue(db.dataSource, { registry, now: clock.now });
    for (let i = 0; i < oks; i++) await queue.enqueue("hrp.lab.result", { kwargs: {} });
    for (let i = 0; i < fails; i++) await queue.enqueue("hrp.lab.result", { kwargs: { fail: true } });
    await new Dispatcher(db.dataSource, registry, { now: clock.now, logger: memoryLogger() }).runDue();
  }

  it("counts done and failed runs per hour, zeros included, an instant on a boundary in the next hour", async () => {
    const clock = fixedClock("2026-11-30T10:00:00.000Z");
    await runAt(clock, "2026-11-30T09:59:59.999Z", 1, 0); // before the window
    await runAt(clock, "2026-11-30T10:00:00.000Z", 2, 1); // first hour, on its boundary
    await runAt(clock, "2026-11-30T10:59:59.999Z", 1, 0); // still the first hour
    await runAt(clock, "2026-11-30T11:00:00.000Z", 0, 2); // second hour
    await runAt(clock, "2026-11-30T13:30:00.000Z", 3, 1); // fourth hour
    await runAt(clock, "2026-11-30T14:00:00.000Z", 5, 5); // after the window
    const runs = await new JobAdmin(db.dataSource).listRuns({ limit: 100 });
    expect(runs.length).toBe(21);

    const backend = backendFor(db.dataSource);
    const since = new Date("2026-11-30T10:00:00.000Z");
    const buckets = await backend.transaction((m) => runsOverTime(backend, m, since, 3_600_000, 4));
    expect(buckets).toEqual([
      { start: new Date("2026-11-30T10:00:00.000Z"), done: 3, failed: 1, stopped: 0 },
      { start: new Date("2026-11-30T11:00:00.000Z"), done: 0, failed: 2, stopped: 0 },
      { start: new Date("2026-11-30T12:00:00.000Z"), done: 0, failed: 0, stopped: 0 },
      { start: new Date("2026-11-30T13:00:00.000Z"), done: 3, failed: 1, stopped: 0 },
    ]);
    // By minute: the 13:30 runs are in minute 30 of a window starting at 13:00.
    const minutes = await backend.transaction((m) =>
      runsOverTime(backend, m, new Date("2026-11-30T13:00:00.000Z"), 60_000, 60),
    );
    expect(minutes.filter((b) => b.done + b.failed > 0).map((b) => [b.start.toISOString(), b.done, b.failed])).toEqual([
      ["2026-11-30T13:30:00.000Z", 3, 1],
    ]);

    const failing = await backend.transaction((m) => failingMethods(backend, m, since, 10));
    expect(failing).toEqual([
      { method: "hrp.lab.result", runs: 20, failed: 9, lastFailedAt: new Date("2026-11-30T14:00:00.000Z") },
    ]);
  });
});
