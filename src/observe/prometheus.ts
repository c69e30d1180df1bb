import type { DataSource } from "typeorm";
import { JobAdmin } from "../api/jobAdmin";
import { Scheduler } from "../scheduler/scheduler";
import type { Dispatcher } from "../worker/dispatcher";

/**
 * The part of `prom-client` this exporter uses. hrp-cron does not depend on
 * prom-client: you pass the module you installed (`npm install prom-client`),
 * so one copy and one registry serve your metrics and these.
 */
export interface PromClient {
  // Constructor options are prom-client's own (its types are not imported: prom-client is not a dependency).
  Counter: new (config: any) => { inc(labels: Record<string, string>, value?: number): void };
  Histogram: new (config: any) => { observe(labels: Record<string, string>, value: number): void };
  Gauge: new (config: any) => {
    inc(labels: Record<string, string>, value?: number): void;
    dec(labels: Record<string, string>, value?: number): void;
  };
  register: unknown;
}

/** Where the metrics go and what they read. */
export interface PrometheusOptions {
  /** The prom-client registry. @defaultValue `client.register` (the global one) */
  readonly registry?: unknown;
  /** When given, queue depth (`hrp_cron_queue_jobs`) is read from this database at each scrape. */
  readonly dataSource?: DataSource;
  /** Metric name prefix. @defaultValue "hrp_cron_" */
  readonly prefix?: string;
}

/** Job duration buckets, in seconds: 5 ms to 10 min. */
const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/**
 * Prometheus metrics for hrp-cron, built on `prom-client` (given, not
 * imported) and on each watched dispatcher's events:
 *
 * - `hrp_cron_jobs_total{queue, outcome}`: runs ended (`done`, `failed`, `skipped`, `interrupted`, `stopped`);
 *   `failed` counts every failed run, retried or not;
 * - `hrp_cron_job_duration_seconds{queue, outcome}`: histogram of those runs' durations;
 * - `hrp_cron_job_retries_total{queue}`: failed runs whose job will run again (`job:retry`): the final
 *   failures are `hrp_cron_jobs_total{outcome="failed"}` minus these;
 * - `hrp_cron_jobs_started_total{queue}`: methods started;
 * - `hrp_cron_claims_recovered_total`: claims of dead workers released;
 * - `hrp_cron_workers{}`: watched dispatchers running in this process (sum over processes: the worker count);
 * - `hrp_cron_queue_jobs{queue, state}` (with `dataSource`): `running`, `waiting` (due) and
 *   `scheduled` (not due yet) jobs per queue, read at each scrape (one query);
 * - once a `Scheduler` is watched: `hrp_cron_scheduler_enqueued_total{method}` (job types its ticks
 *   enqueued), `hrp_cron_scheduler_tick_errors_total` (ticks that failed), `hrp_cron_scheduler_leader`
 *   (watched schedulers of this process holding the leader's lease: sum over processes, 1 when healthy).
 *
 * ```ts
 * import client from "prom-client";
 * const metrics = prometheusMetrics(client, { dataSource });
 * metrics.watch(dispatcher);
 * metrics.watch(scheduler);
 * app.get("/metrics", async (_req, res) => res.type(client.register.contentType).send(await client.register.metrics()));
 * ```
 */
export function prometheusMetrics(
  client: PromClient,
  options: PrometheusOptions = {},
): { watch(source: Dispatcher | Scheduler): () => void } {
  const registers = [options.registry ?? client.register];
  const name = (base: string) => `${options.prefix ?? "hrp_cron_"}${base}`;
  const ended = new client.Counter({
    name: name("jobs_total"),
    help: "Runs ended, by queue and outcome (done, failed, skipped, interrupted, stopped)",
    labelNames: ["queue", "outcome"],
    registers,
  });
  const durations = new client.Histogram({
    name: name("job_duration_seconds"),
    help: "Duration of ended runs, in seconds (a batch's time divided among its runs)",
    labelNames: ["queue", "outcome"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const retries = new client.Counter({
    name: name("job_retries_total"),
    help: "Failed runs whose job will run again after its backoff, by queue",
    labelNames: ["queue"],
    registers,
  });
  const started = new client.Counter({
    name: name("jobs_started_total"),
    help: "Job methods started, by queue",
    labelNames: ["queue"],
    registers,
  });
  const recovered = new client.Counter({
    name: name("claims_recovered_total"),
    help: "Claims of dead workers released so their runs are due again",
    labelNames: [],
    registers,
  });
  const workers = new client.Gauge({
    name: name("workers"),
    help: "Watched dispatchers running in this process",
    labelNames: [],
    registers,
  });
  if (options.dataSource) {
    const admin = new JobAdmin(options.dataSource);
    const seenQueues = new Set<string>();
    new client.Gauge({
      name: name("queue_jobs"),
      help: "Jobs per queue and state: running (claimed), waiting (due), scheduled (not due yet)",
      labelNames: ["queue", "state"],
      registers,
      async collect(this: { set(labels: Record<string, string>, value: number): void; reset(): void }) {
        this.reset();
        // A queue seen once stays, at zero, when it empties (a series that vanished looks like a scrape gap).
        const totals = new Map([...seenQueues].map((q) => [q, { running: 0, waiting: 0, scheduled: 0 }]));
        for (const row of await admin.stats()) {
          const total = totals.get(row.queue) ?? { running: 0, waiting: 0, scheduled: 0 };
          total.running += row.running;
          total.waiting += row.waiting;
          total.scheduled += row.scheduled;
          totals.set(row.queue, total);
          seenQueues.add(row.queue);
        }
        for (const [queue, total] of totals)
          for (const [state, value] of Object.entries(total)) this.set({ queue, state }, value);
      },
    });
  }
  // Made by the first watched scheduler: an application without one gets no scheduler series.
  let schedulerMetrics: ReturnType<typeof makeSchedulerMetrics> | null = null;
  const watchScheduler = (scheduler: Scheduler): (() => void) => {
    const m = (schedulerMetrics ??= makeSchedulerMetrics(client, name, registers));
    let leading = false;
    const lead = (now: boolean) => {
      if (now !== leading) m.leader[now ? "inc" : "dec"]({});
      leading = now;
    };
    const offs = [
      scheduler.events.on("tick", (e) => {
        for (const method of e.enqueued) m.enqueued.inc({ method });
      }),
      scheduler.events.on("tick:error", () => m.tickErrors.inc({})),
      scheduler.events.on("leader:acquired", () => lead(true)),
      scheduler.events.on("leader:lost", () => lead(false)),
    ];
    return () => {
      for (const off of offs) off();
      lead(false);
    };
  };
  return {
    /** Counts the events of `source` (a dispatcher, or a scheduler) from now on; returns the function that stops. */
    watch(source: Dispatcher | Scheduler): () => void {
      if (source instanceof Scheduler) return watchScheduler(source);
      const dispatcher = source;
      const offs = [
        dispatcher.events.on("job:start", (e) => started.inc({ queue: e.queue })),
        dispatcher.events.on("job:end", (e) => {
          ended.inc({ queue: e.queue, outcome: e.outcome });
          durations.observe({ queue: e.queue, outcome: e.outcome }, e.durationMs / 1000);
        }),
        dispatcher.events.on("job:retry", (e) => retries.inc({ queue: e.queue })),
        dispatcher.events.on("claims:recovered", (e) => recovered.inc({}, e.recovered)),
        dispatcher.events.on("worker:start", () => workers.inc({})),
        dispatcher.events.on("worker:stop", () => workers.dec({})),
      ];
      if (dispatcher.isRunning) workers.inc({});
      return () => {
        for (const off of offs) off();
        if (dispatcher.isRunning) workers.dec({});
      };
    },
  };
}

/** The scheduler's metrics (see {@link prometheusMetrics}). */
function makeSchedulerMetrics(client: PromClient, name: (base: string) => string, registers: unknown[]) {
  return {
    enqueued: new client.Counter({
      name: name("scheduler_enqueued_total"),
      help: "Scheduled job types enqueued by the scheduler's ticks, by method",
      labelNames: ["method"],
      registers,
    }),
    tickErrors: new client.Counter({
      name: name("scheduler_tick_errors_total"),
      help: "Scheduler ticks that failed (rolled back; the next tick tries again)",
      labelNames: [],
      registers,
    }),
    leader: new client.Gauge({
      name: name("scheduler_leader"),
      help: "Watched schedulers of this process holding the leader's lease (sum over processes: 1 when healthy)",
      labelNames: [],
      registers,
    }),
  };
}
