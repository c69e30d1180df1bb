import client from "prom-client";
import { Dispatcher, JobQueue, ModelRegistry, prometheusMetrics } from "../../src";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";

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
});
