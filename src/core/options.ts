import type { ModelRegistry } from "./registry";
import type { JobTracing } from "./tracing";
import type { Logger } from "./types";
import { ADMIN_USER_ID, type UserResolver } from "./users";
import type { PostgresOptions } from "./postgresOptions";

/**
 * Every option type of hrp-cron with its doc comment, and every default in
 * {@link DEFAULTS}. Resolution (defaults filled, values checked) is in
 * `resolveOptions.ts`; the allow-lists of keys that refuse a misspelt
 * option are built with {@link optionKeys}, so the compiler checks each is
 * complete.
 */

/**
 * The keys of an options type, as the allow-list that `checkOptions` uses
 * to refuse unknown keys. The argument must name every key of `T` and no
 * other (the compiler checks both), so a new option can never be refused
 * by a list that forgot it.
 *
 * ```ts
 * const KEYS = optionKeys<{ a?: number; b?: string }>({ a: true, b: true }); // ["a", "b"]
 * ```
 */
export function optionKeys<T>(keys: Readonly<Record<keyof T, true>>): ReadonlyArray<keyof T & string> {
  return Object.freeze(Object.keys(keys)) as ReadonlyArray<keyof T & string>;
}

/** Options shared by the service and the dispatcher. */
export interface SharedOptions {
  /** Clock. Inject one in tests to drive schedules with explicit dates. @defaultValue `() => new Date()` */
  readonly now?: () => Date;
  /** Where users come from. @defaultValue the `res_users` table */
  readonly userResolver?: UserResolver;
  /** User for calls made outside {@link runAsUser} without an explicit user. @defaultValue 1 (Administrator) */
  readonly defaultUserId?: number;
  /** @defaultValue console, `warn` and above */
  readonly logger?: Logger;
  /**
   * No longer bounds hrp-cron's own retries: those run for
   * `transientRetryBudgetMs`. Kept (and validated) for compatibility. @defaultValue 5
   */
  readonly transientRetries?: number;
  /** First backoff delay of transient retries; doubles each attempt (with jitter) up to `transientRetryMaxDelayMs`. @defaultValue 25 */
  readonly transientRetryBaseMs?: number;
  /**
   * How long hrp-cron keeps retrying after a transient database failure
   * (connection refused or dropped, server starting up or shutting down,
   * serialization failure, deadlock, SQLite busy) before a call gives up
   * with `DatabaseUnavailableError` (which says whether anything was
   * written). Covers a PostgreSQL restart or fail-over. A stopping
   * dispatcher does not wait for it. @defaultValue 30000
   */
  readonly transientRetryBudgetMs?: number;
  /** Longest single backoff delay within `transientRetryBudgetMs`. @defaultValue 1000 */
  readonly transientRetryMaxDelayMs?: number;
  /**
   * Traces: `openTelemetryTracing()` (needs `@opentelemetry/api`). Given to
   * what enqueues (`JobQueue`, `HrpCronJobService`, `Scheduler`), it stores
   * the active trace context with each job; given to a `Dispatcher`, each
   * run gets a span, the child of the span that enqueued its job. Give it
   * to both. @defaultValue none: no trace context stored, no span started
   */
  readonly tracing?: JobTracing;
}

/** Every key of {@link SharedOptions} (the compiler checks the list is complete). */
export const SHARED_OPTION_KEYS = optionKeys<SharedOptions>({
  now: true,
  userResolver: true,
  defaultUserId: true,
  logger: true,
  transientRetries: true,
  transientRetryBaseMs: true,
  transientRetryBudgetMs: true,
  transientRetryMaxDelayMs: true,
  tracing: true,
});

/** Options of `HrpCronJobService`. */
export interface ServiceOptions extends SharedOptions {
  /**
   * When given, `runByCron` and `createCron` refuse models/methods that are
   * not registered, before writing anything. Without it the check happens at
   * run time (the run fails with "Method `model.fn` does not exist").
   */
  readonly registry?: ModelRegistry;
}

/** Every key of {@link ServiceOptions}. */
export const SERVICE_OPTION_KEYS = optionKeys<ServiceOptions>({ ...keyRecord(SHARED_OPTION_KEYS), registry: true });

/** Options of `Dispatcher`. */
export interface DispatcherOptions extends SharedOptions {
  /**
   * Queues this worker consumes, in order of preference (`["short", "default"]`).
   * @defaultValue all known queues: short, default, long, then custom ones
   */
  readonly queues?: readonly string[];
  /** Custom queues and overrides (same shape as `JobQueue`'s `workers`). */
  readonly workers?: Readonly<Record<string, QueueSettings>>;
  /**
   * Run each job in a worker thread that can be terminated when it overruns
   * its timeout by `hardKillGraceMs` — even a synchronous loop. Needs the
   * app's compiled config file. @defaultValue off (runs in the main thread)
   */
  readonly sandbox?: SandboxOptions;
  /**
   * Batches running at once in this dispatcher (slots), across its queues.
   * A queue whose `backgroundWorkers` is configured in `workers` is also
   * capped at that (the CLI configures every served queue, Frappe style).
   * Each slot runs a batch of jobs one after another (see `batchSize`);
   * the dispatcher claims about `batchMaxMs` of work per free slot plus one
   * round ahead. On SQLite transactions still commit one at a time.
   * @defaultValue 1
   */
  readonly concurrency?: number;
  /** Longest wait between two looks for due crons when nothing wakes the loop. @defaultValue 5000 */
  readonly pollIntervalMs?: number;
  /**
   * Most crons run in one transaction (a batch), each in its own savepoint,
   * and claimed per slot in one round trip. Batches are what makes hrp-cron
   * fast (one commit for many jobs); `1` gives one transaction per job.
   * Keep it at or below 64 on PostgreSQL: beyond that many subtransactions
   * that write, PostgreSQL's per-backend subtransaction cache overflows and
   * slows every session. SQLite has no such limit and gains from fewer
   * commits. @defaultValue 50 on PostgreSQL, 100 on SQLite
   */
  readonly batchSize?: number;
  /**
   * A batch takes no further job once it has run this long and commits:
   * it bounds how long a job's committed writes wait for the jobs after it
   * (and how long their row locks are held). @defaultValue 100
   */
  readonly batchMaxMs?: number;
  /** How often the worker refreshes `hrp_cron_worker.last_seen_at`. @defaultValue 5000 */
  readonly heartbeatIntervalMs?: number;
  /**
   * A worker silent for this long is presumed dead and its claims are recovered; with
   * `recoveryIntervalMs` this bounds recovery at 25 s by default. @defaultValue 20000
   */
  readonly workerTimeoutMs?: number;
  /** How often to look for claims of dead workers (checked on each heartbeat tick). @defaultValue 5000 */
  readonly recoveryIntervalMs?: number;
  /** On `stop()`, running methods get this long to finish before their AbortSignal fires. @defaultValue 30000 */
  readonly gracefulStopMs?: number;
  /**
   * After the signal fires, how long `stop()` still waits for a method that
   * ignores it. Then the worker unregisters (other workers recover its claim
   * at once) and `stop()` resolves; the abandoned run can never commit. @defaultValue 5000
   */
  readonly abandonAfterAbortMs?: number;
  /**
   * A "transient" database error (deadlock, lock not available,
   * serialization failure, SQLite busy) thrown by a job's own work — its
   * savepoint rolled back cleanly, so the batch's transaction is fine — is
   * retried at once this many times (short backoff from
   * `transientRetryBaseMs`), then counts against the job like any error
   * (`maxRetries`, backoff, recorded failure). Only the engine's own
   * statements get the long transient budget. @defaultValue 2
   */
  readonly jobTransientRetries?: number;
  /** Upper bound on calls one catch-up run makes (doall with a long outage). @defaultValue 1000 */
  readonly maxCatchUpCalls?: number;
  /**
   * Largest return value a one-shot job may store as its result (bytes of
   * JSON, `hrp_cron_job.result`); a larger one fails the run with
   * `JobResultError`. @defaultValue 65536 (64 KiB)
   */
  readonly maxResultBytes?: number;
  /**
   * Least time between two writes of one job's progress (`env.progress`):
   * the calls in between only keep the latest value, written when the time
   * comes and at the run's end. @defaultValue 1000
   */
  readonly progressIntervalMs?: number;
  /** A recurring cron failing this many times in a row ... @defaultValue 5 */
  readonly deactivateAfterFailures?: number;
  /** ... over more than this long is deactivated (Odoo 18's rule). @defaultValue 7 days */
  readonly deactivateAfterMs?: number;
  /**
   * Rolling deploys: a worker hands jobs whose method its registry lacks
   * back to workers that serve it (workers register the methods they serve).
   * When no live worker serves the method, the job waits this long (since a
   * worker first found it so), then fails with "Method `model.fn` does not
   * exist"; `hrp-cron doctor` lists such methods meanwhile. `0` fails it at
   * once unless a live worker serves it. @defaultValue 300000 (5 minutes)
   */
  readonly unknownMethodGraceMs?: number;
}

/** Every key of {@link DispatcherOptions}: a misspelt option (`pollInterval`) is refused instead of silently keeping its default. */
export const DISPATCHER_OPTION_KEYS = optionKeys<DispatcherOptions>({
  ...keyRecord(SHARED_OPTION_KEYS),
  queues: true,
  workers: true,
  sandbox: true,
  concurrency: true,
  pollIntervalMs: true,
  batchSize: true,
  batchMaxMs: true,
  heartbeatIntervalMs: true,
  workerTimeoutMs: true,
  recoveryIntervalMs: true,
  gracefulStopMs: true,
  abandonAfterAbortMs: true,
  jobTransientRetries: true,
  maxCatchUpCalls: true,
  maxResultBytes: true,
  progressIntervalMs: true,
  deactivateAfterFailures: true,
  deactivateAfterMs: true,
  unknownMethodGraceMs: true,
});

/** Options of `Dispatcher.runDue`. */
export interface RunDueOptions {
  /**
   * Most runs to make; then it returns even if more is due (a job that
   * enqueues itself due at once would otherwise keep it going).
   * @defaultValue no limit
   */
  readonly maxRuns?: number;
}

/** Every key of {@link RunDueOptions}. */
export const RUN_DUE_OPTION_KEYS = optionKeys<RunDueOptions>({ maxRuns: true });

/** Options of sandboxed execution (`DispatcherOptions.sandbox`). */
export interface SandboxOptions {
  /** The app's compiled hrp-cron config file (JavaScript); each thread loads it to get its registry and DataSource. */
  readonly configPath: string;
  /** After a run's timeout, how long the thread may take to unwind by itself before it is terminated. @defaultValue 2000 */
  readonly hardKillGraceMs?: number;
}

/** Settings of one queue (Frappe: `workers` in common_site_config, `timeout` in seconds there). */
export interface QueueConfig {
  /** Run time limit for its jobs, unless a job sets its own. */
  readonly timeoutMs: number;
  /** Jobs of this queue one worker process runs at once. @defaultValue 1 */
  readonly backgroundWorkers: number;
  /** Jobs of this queue running at once across all workers and machines; null = no limit. @defaultValue null */
  readonly maxConcurrency: number | null;
  /** Retries after a failure, unless a job sets its own. @defaultValue 0 */
  readonly maxRetries: number;
  /** Delays (ms) before retry 1, 2, ...; the last one repeats. @defaultValue [10000, 60000, 300000] */
  readonly retryBackoffMs: readonly number[];
  /**
   * A job whose run kills its worker process (crash, OOM kill, `process.exit`)
   * this many times is failed ("the worker died N times while running this
   * job") instead of being recovered and run again; a recurring cron counts
   * it as one failed run. Only deaths attributed to the job count: after an
   * unattributed death its claims run alone (see README, "Poison jobs").
   * Crashes do not use up `maxRetries`. @defaultValue 3
   */
  readonly maxCrashes: number;
}

export type QueueSettings = Partial<QueueConfig>;

export type { PostgresOptions } from "./postgresOptions";

/** All defaults, in one place. */
export const DEFAULTS = {
  concurrency: 1,
  defaultUserId: ADMIN_USER_ID,
  transientRetries: 5,
  transientRetryBaseMs: 25,
  transientRetryBudgetMs: 30_000,
  transientRetryMaxDelayMs: 1_000,
  pollIntervalMs: 5_000,
  batchSize: 50,
  /** The default batch where transactions run one at a time (SQLite): no subtransaction cache to overflow, and each commit syncs the file. */
  serialBatchSize: 100,
  batchMaxMs: 100,
  heartbeatIntervalMs: 5_000,
  workerTimeoutMs: 20_000,
  recoveryIntervalMs: 5_000,
  gracefulStopMs: 30_000,
  abandonAfterAbortMs: 5_000,
  jobTransientRetries: 2,
  maxCatchUpCalls: 1_000,
  maxResultBytes: 65_536,
  progressIntervalMs: 1_000,
  deactivateAfterFailures: 5,
  deactivateAfterMs: 7 * 24 * 3600 * 1000,
  poolMode: "session",
  listenUrl: null,
  unknownMethodGraceMs: 300_000,
  /** `SandboxOptions.hardKillGraceMs`. */
  hardKillGraceMs: 2_000,
  /** Priority of `runByCron` jobs and `enqueue`d jobs (lower runs first). */
  jobPriority: 10,
  /** Priority of crons made by `createCron`. */
  cronPriority: 5,
  /** `concurrencyLimit` of a job with a `concurrencyKey`. */
  concurrencyLimit: 1,
  /** Rows a listing (`listJobs`, `listRuns`) returns. */
  listLimit: 100,
  /** `purge`: finished (done, cancelled, stopped) jobs older than this are deleted. */
  purgeFinishedOlderThanMs: 7 * 86_400_000,
  /** `purge`: failed jobs older than this are deleted. */
  purgeFailedOlderThanMs: 30 * 86_400_000,
  /** Settings of every queue unless configured (`QueueConfig`); `timeoutMs` per queue in {@link queueTimeoutsMs}. */
  queue: {
    backgroundWorkers: 1,
    maxConcurrency: null,
    maxRetries: 0,
    retryBackoffMs: [10_000, 60_000, 300_000],
    maxCrashes: 3,
  },
  /** Run time limit of Frappe's three queues (custom queues get `default`'s). */
  queueTimeoutsMs: { short: 300_000, default: 300_000, long: 1_500_000 },
  /** Scheduler (`SchedulerOptions`): period of the `all` event, in minutes (Frappe's `scheduler_interval`). */
  schedulerIntervalMinutes: 4,
  /** The web dashboard (`DashboardOptions`). */
  dashboard: {
    basePath: "/",
    defaultLocale: "en",
    pageSize: 50,
    bulkMax: 1_000,
    /** `hrp-cron dashboard`: where it listens unless told. */
    host: "127.0.0.1",
    port: 8787,
  },
  /** Scheduler: how often `start()` ticks. */
  tickIntervalMs: 15_000,
  /** Scheduler: the leader's lease. */
  leaseMs: 20_000,
  /** Scheduler: replay missed periods. */
  catchUp: false,
  /** Scheduler: most missed periods one tick replays with `catchUp`. */
  maxCatchUp: 24,
  /** Scheduler: the user of a Scheduled Job Type that names none (Administrator). */
  jobTypeUserId: ADMIN_USER_ID,
  /** `hrp-cron/testing`'s `drain`: most runs one drain makes before it reports a job that keeps making work due at once. */
  drainMaxRuns: 1_000,
} as const satisfies Required<
  Omit<DispatcherOptions, "now" | "userResolver" | "logger" | "queues" | "workers" | "sandbox" | "tracing">
> &
  Required<Omit<PostgresOptions, "logger">> &
  Required<Omit<SandboxOptions, "configPath">> & {
    serialBatchSize: number;
    jobPriority: number;
    cronPriority: number;
    concurrencyLimit: number;
    listLimit: number;
    purgeFinishedOlderThanMs: number;
    purgeFailedOlderThanMs: number;
    queue: Omit<QueueConfig, "timeoutMs">;
    queueTimeoutsMs: Readonly<Record<"short" | "default" | "long", number>>;
    schedulerIntervalMinutes: number;
    tickIntervalMs: number;
    leaseMs: number;
    catchUp: boolean;
    maxCatchUp: number;
    jobTypeUserId: number;
    drainMaxRuns: number;
    dashboard: {
      basePath: string;
      defaultLocale: string;
      pageSize: number;
      bulkMax: number;
      host: string;
      port: number;
    };
  };

/** `{ a: true, b: true }` for the keys `["a", "b"]`: extends a list made by {@link optionKeys}. */
export function keyRecord<K extends string>(keys: readonly K[]): Record<K, true> {
  return Object.fromEntries(keys.map((key) => [key, true])) as Record<K, true>;
}
