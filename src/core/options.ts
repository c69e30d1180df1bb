import { ValidationError } from "./errors";
import { checkArray, checkOptions, describe, guarded, isPlainObject, MAX_TIMER_MS } from "./validate";
import { consoleLogger } from "./logger";
import { QueueSet, type QueueSettings } from "./queues";
import type { SandboxOptions } from "../worker/sandbox";
import type { ModelRegistry } from "./registry";
import type { Logger } from "./types";
import { ADMIN_USER_ID, ResUsersResolver, type UserResolver } from "./users";

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
}

/** Every key of {@link SharedOptions}; classes refuse keys they do not know, so a new shared option must be listed here. */
/** Every key of {@link SharedOptions} (the compiler checks the list is complete). */
const SHARED_KEYS: Readonly<Record<keyof SharedOptions, true>> = {
  now: true, userResolver: true, defaultUserId: true, logger: true, transientRetries: true, transientRetryBaseMs: true,
  transientRetryBudgetMs: true, transientRetryMaxDelayMs: true,
};
export const SHARED_OPTION_KEYS = Object.keys(SHARED_KEYS) as ReadonlyArray<keyof SharedOptions>;

/** Options of `HrpCronJobService`. */
export interface ServiceOptions extends SharedOptions {
  /**
   * When given, `runByCron` and `createCron` refuse models/methods that are
   * not registered, before writing anything. Without it the check happens at
   * run time (the run fails with "Method `model.fn` does not exist").
   */
  readonly registry?: ModelRegistry;
}

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

/**
 * How hrp-cron uses PostgreSQL connections: options of a DataSource's
 * backend, given once per DataSource (`backendFor(dataSource, options)`
 * before any other hrp-cron call on it, or `postgres` in the CLI config).
 * Ignored on SQLite.
 */
export interface PostgresOptions {
  /**
   * How the DataSource's connections reach PostgreSQL, in PgBouncer's terms.
   *
   * - `"session"`: a direct connection, or a pooler that gives each client
   *   connection a server session of its own for as long as it lasts
   *   (PgBouncer `pool_mode = session`). hrp-cron keeps its statements
   *   prepared per connection and LISTENs on a pooled connection.
   * - `"transaction"`: a pooler that may hand every transaction another
   *   server connection (PgBouncer or pgcat `pool_mode = transaction`,
   *   Supavisor in transaction mode). Session state does not
   *   survive a transaction there, so hrp-cron prepares no named
   *   statements, and LISTENs only on {@link listenUrl} (without it, other
   *   processes' work is found by polling every `pollIntervalMs`).
   *
   * Statement pooling (`pool_mode = statement`) is refused: hrp-cron needs
   * multi-statement transactions. In `"session"` mode a transaction pooler
   * is detected when PostgreSQL reports a lost or duplicate prepared
   * statement (SQLSTATE 26000 / 42P05): the backend then switches to
   * unnamed statements for good, logs a warning, and the failed transaction
   * is retried (`PreparedStatementLostError`, a transient error).
   * @defaultValue "session"
   */
  readonly poolMode?: "session" | "transaction";
  /**
   * A `postgres://` URL for one dedicated connection that LISTENs for
   * wake-ups (`NOTIFY hrp_cron_wakeup`), straight to the server rather than
   * through a transaction pooler. Without it the LISTEN connection comes
   * from the DataSource's pool, or, with `poolMode: "transaction"`, there is
   * none and workers of other processes poll. Put credentials and `sslmode`
   * in the URL. @defaultValue null
   */
  readonly listenUrl?: string | null;
  /** Where the backend reports a detected transaction pooler and LISTEN trouble. @defaultValue console, `warn` and above */
  readonly logger?: Logger;
}

export type ResolvedPostgresOptions = Required<PostgresOptions>;

/** Fills defaults and checks values; throws ValidationError on nonsense. */
export function resolvePostgresOptions(options: PostgresOptions = {}): ResolvedPostgresOptions {
  if (typeof options !== "object" || options === null) throw new ValidationError("postgres options", "expected an object", options);
  const poolMode: string = options.poolMode ?? DEFAULTS.poolMode;
  if (poolMode === "statement") {
    throw new ValidationError("poolMode", 'statement pooling is not supported: hrp-cron runs each claim, batch and enqueue in a multi-statement transaction, which a pooler in statement mode refuses. Use "transaction" (PgBouncer pool_mode = transaction) or "session"', poolMode);
  }
  if (poolMode !== "session" && poolMode !== "transaction") throw new ValidationError("poolMode", `expected "session" or "transaction", got ${JSON.stringify(poolMode)}`, poolMode);
  const listenUrl = options.listenUrl ?? DEFAULTS.listenUrl;
  if (listenUrl !== null && (typeof listenUrl !== "string" || !/^postgres(ql)?:\/\/./.test(listenUrl))) {
    throw new ValidationError("listenUrl", "expected a postgres:// or postgresql:// URL of the server itself (not the pooler)", listenUrl);
  }
  return { poolMode, listenUrl, logger: options.logger ?? consoleLogger("warn") };
}

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
  deactivateAfterFailures: 5,
  deactivateAfterMs: 7 * 24 * 3600 * 1000,
  poolMode: "session",
  listenUrl: null,
  unknownMethodGraceMs: 300_000,
} as const satisfies Required<Omit<DispatcherOptions, "now" | "userResolver" | "logger" | "queues" | "workers" | "sandbox">> & { serialBatchSize: number } & Required<Omit<PostgresOptions, "logger">>;

export type ResolvedShared = Required<SharedOptions>;
export type ResolvedDispatcherOptions = Required<Omit<DispatcherOptions, "queues" | "workers" | "sandbox">> & {
  readonly sandbox: SandboxOptions | null;
  /** Per-queue slot caps: a queue's configured `backgroundWorkers`, else `concurrency`. */
  readonly queueCaps: ReadonlyMap<string, number>;
  readonly queues: readonly string[];
  readonly queueSet: QueueSet;
};

/** Fills defaults and checks numeric ranges; throws ValidationError on nonsense. */
export function resolveShared(options: SharedOptions = {}): ResolvedShared {
  checkSharedShape(options);
  const resolved: ResolvedShared = {
    now: options.now ?? (() => new Date()),
    userResolver: options.userResolver ?? new ResUsersResolver(),
    defaultUserId: options.defaultUserId ?? DEFAULTS.defaultUserId,
    logger: options.logger ?? consoleLogger("warn"),
    transientRetries: options.transientRetries ?? DEFAULTS.transientRetries,
    transientRetryBaseMs: options.transientRetryBaseMs ?? DEFAULTS.transientRetryBaseMs,
    transientRetryBudgetMs: options.transientRetryBudgetMs ?? DEFAULTS.transientRetryBudgetMs,
    transientRetryMaxDelayMs: options.transientRetryMaxDelayMs ?? DEFAULTS.transientRetryMaxDelayMs,
  };
  checkInt("defaultUserId", resolved.defaultUserId, 1);
  checkInt("transientRetries", resolved.transientRetries, 0);
  checkInt("transientRetryBaseMs", resolved.transientRetryBaseMs, 0);
  checkInt("transientRetryBudgetMs", resolved.transientRetryBudgetMs, 0);
  checkInt("transientRetryMaxDelayMs", resolved.transientRetryMaxDelayMs, 1);
  return resolved;
}

/** `serialTransactions`: the backend runs this process's transactions one at a time (see `Backend`). */
export function resolveDispatcherOptions(options: DispatcherOptions = {}, serialTransactions = false): ResolvedDispatcherOptions {
  options = checkOptions("options", options, DISPATCHER_OPTION_KEYS, ["sandbox"]);
  const shared = resolveShared(options);
  const queueSet = new QueueSet(options.workers);
  const queues = options.queues === undefined ? queueSet.names() : checkQueueNames(options.queues);
  if (queues.length === 0) throw new ValidationError("queues", "list at least one queue", queues);
  const sandbox = options.sandbox;
  if (sandbox !== undefined && sandbox !== null && !guarded("sandbox", () => typeof sandbox === "object" && typeof sandbox.configPath === "string")) {
    throw new ValidationError("sandbox", "expected { configPath: \"path/to/hrp-cron.config.js\" }", options.sandbox);
  }
  for (const q of queues) queueSet.get(q); // UnknownQueueError for a typo
  const resolved: ResolvedDispatcherOptions = {
    ...shared,
    queues: [...new Set(queues)],
    sandbox: options.sandbox ?? null,
    queueCaps: new Map(Object.entries(options.workers ?? {}).filter(([, w]) => w.backgroundWorkers !== undefined).map(([q, w]) => [q, w.backgroundWorkers!])),
    queueSet,
    concurrency: options.concurrency ?? DEFAULTS.concurrency,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
    batchSize: options.batchSize ?? (serialTransactions ? DEFAULTS.serialBatchSize : DEFAULTS.batchSize),
    batchMaxMs: options.batchMaxMs ?? DEFAULTS.batchMaxMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
    workerTimeoutMs: options.workerTimeoutMs ?? DEFAULTS.workerTimeoutMs,
    recoveryIntervalMs: options.recoveryIntervalMs ?? DEFAULTS.recoveryIntervalMs,
    gracefulStopMs: options.gracefulStopMs ?? DEFAULTS.gracefulStopMs,
    abandonAfterAbortMs: options.abandonAfterAbortMs ?? DEFAULTS.abandonAfterAbortMs,
    jobTransientRetries: options.jobTransientRetries ?? DEFAULTS.jobTransientRetries,
    maxCatchUpCalls: options.maxCatchUpCalls ?? DEFAULTS.maxCatchUpCalls,
    deactivateAfterFailures: options.deactivateAfterFailures ?? DEFAULTS.deactivateAfterFailures,
    deactivateAfterMs: options.deactivateAfterMs ?? DEFAULTS.deactivateAfterMs,
    unknownMethodGraceMs: options.unknownMethodGraceMs ?? DEFAULTS.unknownMethodGraceMs,
  };
  // Durations used as timers stay within Node's timer limit (a longer one fires after 1 ms).
  checkInt("pollIntervalMs", resolved.pollIntervalMs, 1, MAX_TIMER_MS);
  checkInt("concurrency", resolved.concurrency, 1, 1000);
  checkInt("batchSize", resolved.batchSize, 1, 1000);
  checkInt("batchMaxMs", resolved.batchMaxMs, 0);
  checkInt("heartbeatIntervalMs", resolved.heartbeatIntervalMs, 1, MAX_TIMER_MS);
  checkInt("workerTimeoutMs", resolved.workerTimeoutMs, 1);
  checkInt("recoveryIntervalMs", resolved.recoveryIntervalMs, 1);
  checkInt("gracefulStopMs", resolved.gracefulStopMs, 0, MAX_TIMER_MS);
  checkInt("abandonAfterAbortMs", resolved.abandonAfterAbortMs, 0, MAX_TIMER_MS);
  checkInt("jobTransientRetries", resolved.jobTransientRetries, 0, 100);
  checkInt("maxCatchUpCalls", resolved.maxCatchUpCalls, 1);
  checkInt("deactivateAfterFailures", resolved.deactivateAfterFailures, 1);
  checkInt("deactivateAfterMs", resolved.deactivateAfterMs, 0);
  checkInt("unknownMethodGraceMs", resolved.unknownMethodGraceMs, 0);
  if (resolved.heartbeatIntervalMs >= resolved.workerTimeoutMs) {
    throw new ValidationError("heartbeatIntervalMs", `must be below workerTimeoutMs (${resolved.workerTimeoutMs}), got ${resolved.heartbeatIntervalMs}`);
  }
  return resolved;
}


function checkInt(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected an integer from ${min} to ${max}, got ${describe(value)}`, value);
  }
}

/**
 * Every key `DispatcherOptions` knows: those with a default in
 * {@link DEFAULTS}, plus these without one. A misspelt option (`pollInterval`)
 * is refused instead of silently keeping its default; a new option without
 * a default must be added here.
 */
const DISPATCHER_OPTION_KEYS = [
  ...Object.keys(DEFAULTS).filter((key) => key !== "serialBatchSize"),
  ...SHARED_OPTION_KEYS, "queues", "workers", "sandbox",
];

/** The options object and its non-numeric members: a clock function, a resolver, a logger. */
function checkSharedShape(options: SharedOptions): void {
  guarded("options", () => {
    if (!isPlainObject(options) && (typeof options !== "object" || options === null || Array.isArray(options))) {
      throw new ValidationError("options", "expected an options object", options);
    }
    for (const key of SHARED_OPTION_KEYS) {
      if ((options as Record<string, unknown>)[key] === null) throw new ValidationError(key, "null is not a value for this option; leave it out to get its default", null);
    }
    if (options.now !== undefined && typeof options.now !== "function") throw new ValidationError("now", "expected a function returning a Date", options.now);
    if (options.userResolver !== undefined && typeof options.userResolver?.findUser !== "function") {
      throw new ValidationError("userResolver", "expected an object with findUser(manager, userId)", undefined);
    }
    const logger = options.logger as unknown as Record<string, unknown> | undefined;
    if (logger !== undefined && (typeof logger !== "object" || logger === null || !LOG_LEVELS.every((level) => typeof logger[level] === "function"))) {
      throw new ValidationError("logger", `expected an object with ${LOG_LEVELS.join(", ")} functions`, undefined);
    }
  });
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** `queues`: an array of queue names (a string such as "short,default" is refused, not read letter by letter). */
function checkQueueNames(queues: unknown): string[] {
  const list = checkArray("queues", queues);
  for (const q of list) if (typeof q !== "string") throw new ValidationError("queues", `expected queue names, got ${typeof q}`, q);
  return list as string[];
}
