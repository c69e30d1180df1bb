import client from "prom-client";
import { Dispatcher, JobQueue, ModelRegistry, prometheusMetrics, Scheduler } from "../../src";
import { BACKENDS, fixedClock, memoryLogger, openTestDb, type TestDb } from "../helpers";

/** Issue 15: the Prometheus exporter, on a real prom-client registry. */
describe.each(BACKENDS)("Prometheus metrics on %s", (kind) => {
  let db: TestDb;
  const registry = new ModelRegistry().register("m", {
    ok: () => 1,
    boom: () => {
      throw new Error("boom");
    },
  });
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(() => db.close());

  /** The value of `name{labels}` in the registry's text exposition, or undefined. */
  async function value(metrics: client.Registry, line: RegExp): Promise<number | undefined> {
    const text = await metrics.metrics();
    const found = text.split("\n").find((l) => line.test(l));
    return found === undefined ? undefined : Number(found.split(" ").at(-1));
  }

  it("counts runs by queue and outcome, their durations, workers, and queue depth at scrape", async () => {
    const metrics = new client.Registry();
    const exporter = prometheusMetrics(client, { registry: metrics, dataSource: db.dataSource });
    const jobs = new JobQueue(db.dataSource, { registry });
    await jobs.enqueue("m.ok", { queue: "short" });
    await jobs.enqueue("m.ok", { queue: "short" });
    await jobs.enqueue("m.boom");
    await jobs.enqueue("m.ok", { delayMs: 3_600_000 });
    expect(await value(metrics, /^hrp_cron_queue_jobs\{queue="short",state="waiting"\}/)).toBe(2);
    expect(await value(metrics, /^hrp_cron_queue_jobs\{queue="default",state="scheduled"\}/)).toBe(1);

    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger() });
    const unwatch = exporter.watch(dispatcher);
    await dispatcher.runDue();
    expect(await value(metrics, /^hrp_cron_jobs_total\{queue="short",outcome="done"\}/)).toBe(2);
    expect(await value(metrics, /^hrp_cron_jobs_total\{queue="default",outcome="failed"\}/)).toBe(1);
    expect(await value(metrics, /^hrp_cron_jobs_started_total\{queue="short"\}/)).toBe(2);
    expect(await value(metrics, /^hrp_cron_job_duration_seconds_count\{queue="short",outcome="done"\}/)).toBe(2);
    expect(await value(metrics, /^hrp_cron_queue_jobs\{queue="short",state="waiting"\}/)).toBe(0);

    await dispatcher.start();
    expect(await value(metrics, /^hrp_cron_workers /)).toBe(1);
    await dispatcher.stop();
    expect(await value(metrics, /^hrp_cron_workers /)).toBe(0);
    unwatch();
    await jobs.enqueue("m.ok", { queue: "short" });
    await dispatcher.runDue();
    expect(await value(metrics, /^hrp_cron_jobs_total\{queue="short",outcome="done"\}/)).toBe(2); // no longer watched
  });

  it("counts retries apart from final failures, and a watched scheduler's enqueues, tick errors and leadership", async () => {
    const clock = fixedClock("2026-11-23T10:00:00Z");
    const metrics = new client.Registry();
    const exporter = prometheusMetrics(client, { registry: metrics });
    const jobs = new JobQueue(db.dataSource, { registry, now: clock.now });
    await jobs.enqueue("m.boom", { maxRetries: 1, retryBackoffMs: [1_000] });
    const dispatcher = new Dispatcher(db.dataSource, registry, { logger: memoryLogger(), now: clock.now });
    exporter.watch(dispatcher);
    await dispatcher.runDue();
    clock.advance(1_000);
    await dispatcher.runDue();
    // Two failed runs, one of them retried: one final failure.
    expect(await value(metrics, /^hrp_cron_jobs_total\{queue="default",outcome="failed"\}/)).toBe(2);
    expect(await value(metrics, /^hrp_cron_job_retries_total\{queue="default"\}/)).toBe(1);
    // No scheduler watched: no scheduler series.
    expect(await metrics.getSingleMetric("hrp_cron_scheduler_leader")).toBeUndefined();

    const scheduler = new Scheduler(db.dataSource, {
      registry,
      now: clock.now,
      logger: memoryLogger(),
      schedulerEvents: { hourly: ["m.ok"] },
    });
    await scheduler.sync();
    const unwatch = exporter.watch(scheduler);
    clock.set("2026-11-23T11:00:00Z");
    await scheduler.tick();
    expect(await value(metrics, /^hrp_cron_scheduler_enqueued_total\{method="m.ok"\}/)).toBe(1);
    expect(await value(metrics, /^hrp_cron_scheduler_leader /)).toBe(1);
    await db.dataSource.query(`ALTER TABLE scheduled_job_log RENAME TO scheduled_job_log_away`);
    await expect(scheduler.tick()).rejects.toThrow();
    await db.dataSource.query(`ALTER TABLE scheduled_job_log_away RENAME TO scheduled_job_log`);
    expect(await value(metrics, /^hrp_cron_scheduler_tick_errors_total /)).toBe(1);
    await scheduler.setControl({ paused: true });
    await scheduler.tick();
    expect(await value(metrics, /^hrp_cron_scheduler_leader /)).toBe(0);
    await scheduler.setControl({ paused: false });
    await scheduler.tick();
    expect(await value(metrics, /^hrp_cron_scheduler_leader /)).toBe(1);
    unwatch();
    expect(await value(metrics, /^hrp_cron_scheduler_leader /)).toBe(0);
  });
});
