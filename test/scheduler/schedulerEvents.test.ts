import { ModelRegistry, Scheduler, type SchedulerEventMap } from "../../src";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 15: the scheduler's typed events, driven by an explicit clock (ticks are called, not waited for). */
describe.each(BACKENDS)("scheduler events on %s", (kind) => {
  let db: TestDb;
  const clock = fixedClock("2026-11-23T10:00:00Z");
  const registry = new ModelRegistry().register("app.tasks", { sync() {}, cleanup() {} });
  beforeEach(async () => {
    clock.set("2026-11-23T10:00:00Z");
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  const scheduler = () =>
    new Scheduler(db.dataSource, {
      registry,
      now: clock.now,
      logger: memoryLogger(),
      leaseMs: 10_000,
      schedulerEvents: { hourly: ["app.tasks.sync", "app.tasks.cleanup"] },
    });

  /** Every event of `s`, in order, as [name, payload]. */
  function record(s: Scheduler): Array<[keyof SchedulerEventMap, Record<string, unknown>]> {
    const seen: Array<[keyof SchedulerEventMap, Record<string, unknown>]> = [];
    const names: Array<keyof SchedulerEventMap> = [
      "scheduler:start",
      "scheduler:stop",
      "leader:acquired",
      "leader:lost",
      "tick",
      "tick:error",
      "control",
    ];
    for (const name of names) s.events.on(name, (e) => void seen.push([name, { ...e }]));
    return seen;
  }
  const at = (iso: string) => new Date(iso);

  it("tells each tick (what it enqueued), the leader's lease taken and lost, control changes and a failed tick", async () => {
    const a = scheduler();
    const b = scheduler();
    const seenA = record(a);
    const seenB = record(b);
    await a.sync();

    clock.set("2026-11-23T11:00:00Z");
    await a.tick();
    await b.tick();
    expect(seenA.map(([name]) => name)).toEqual(["leader:acquired", "tick"]);
    expect(seenA[0][1]).toEqual({ schedulerId: a.id, at: at("2026-11-23T11:00:00Z") });
    expect(seenA[1][1]).toEqual({
      schedulerId: a.id,
      at: at("2026-11-23T11:00:00Z"),
      leader: true,
      enqueued: ["app.tasks.sync", "app.tasks.cleanup"],
      skipped: [],
      durationMs: expect.any(Number),
    });
    expect(seenB).toEqual([
      ["tick", expect.objectContaining({ schedulerId: b.id, leader: false, enqueued: [], skipped: [] })],
    ]);

    // a stops renewing (it "died"); once its lease ran out, b takes over; a's next tick finds it lost.
    seenA.length = 0;
    seenB.length = 0;
    clock.set("2026-11-23T11:00:11Z");
    await b.tick();
    await a.tick();
    expect(seenB.map(([name]) => name)).toEqual(["leader:acquired", "tick"]);
    expect(seenA.map(([name]) => name)).toEqual(["leader:lost", "tick"]);
    expect(seenA[0][1]).toEqual({ schedulerId: a.id, at: at("2026-11-23T11:00:11Z"), reason: "not-renewed" });

    // Paused: the leader's next tick cannot renew its lease.
    seenB.length = 0;
    await b.setControl({ paused: true });
    clock.advance(1_000);
    await b.tick();
    expect(seenB.map(([name]) => name)).toEqual(["control", "leader:lost", "tick"]);
    expect(seenB[0][1]).toEqual({ schedulerId: b.id, paused: true });
    await b.setControl({ paused: false });

    // A tick that fails as a whole (a table it needs is gone) is told, and rolled back.
    seenB.length = 0;
    await db.dataSource.query(`ALTER TABLE scheduled_job_log RENAME TO scheduled_job_log_away`);
    await expect(b.tick()).rejects.toThrow();
    await db.dataSource.query(`ALTER TABLE scheduled_job_log_away RENAME TO scheduled_job_log`);
    expect(seenB).toEqual([
      [
        "tick:error",
        { schedulerId: b.id, at: at("2026-11-23T11:00:12Z"), error: expect.stringMatching(/scheduled_job_log/) },
      ],
    ]);
    await b.tick();
    expect(seenB.slice(1).map(([name]) => name)).toEqual(["leader:acquired", "tick"]);
  });

  it("tells start and stop; stopping gives the lease up (leader:lost, released)", async () => {
    const s = scheduler();
    const seen = record(s);
    const ticked = new Promise<void>((resolve) => s.events.on("tick", () => resolve()));
    await s.start();
    await ticked; // start() ticks at once
    await s.stop();
    expect(seen.map(([name]) => name)).toEqual([
      "scheduler:start",
      "leader:acquired",
      "tick",
      "leader:lost",
      "scheduler:stop",
    ]);
    expect(seen[3][1]).toEqual({ schedulerId: s.id, at: at("2026-11-23T10:00:00Z"), reason: "released" });
    expect((await s.status()).leaderId).toBeNull();
  });
});
