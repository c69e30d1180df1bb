import { ValidationError } from "./errors";
import { consoleLogger } from "./logger";
import {
  DEFAULTS,
  DISPATCHER_OPTION_KEYS,
  SHARED_OPTION_KEYS,
  type DispatcherOptions,
  type PostgresOptions,
  type SandboxOptions,
  type SharedOptions,
} from "./options";
import { QueueSet } from "./queues";
import type { JobTracing } from "./tracing";
import type { UserResolver } from "./users";
import { checkArray, checkInt, checkOptions, guarded, isPlainObject, MAX_TIMER_MS } from "./validate";

/**
 * Options resolved: defaults (from `DEFAULTS`) filled in and every value
 * checked up front, so a bad option throws `ValidationError` before anything
 * is read or written. The default user resolver (the `res_users` table) is
 * SQL, so it lives in the store and callers pass it in (`fallbackUsers`).
 */

export type ResolvedPostgresOptions = Required<PostgresOptions>;

/** Fills defaults and checks values; throws ValidationError on nonsense. */
export function resolvePostgresOptions(options: PostgresOptions = {}): ResolvedPostgresOptions {
  if (typeof options !== "object" || options === null)
    throw new ValidationError("postgres options", "expected an object", options);
  const poolMode: string = options.poolMode ?? DEFAULTS.poolMode;
  if (poolMode === "statement") {
    throw new ValidationError(
      "poolMode",
      'statement pooling is not supported: hrp-cron runs each claim, batch and enqueue in a multi-statement transaction, which a pooler in statement mode refuses. Use "transaction" (PgBouncer pool_mode = transaction) or "session"',
      poolMode,
    );
  }
  if (poolMode !== "session" && poolMode !== "transaction")
    throw new ValidationError(
      "poolMode",
      `expected "session" or "transaction", got ${JSON.stringify(poolMode)}`,
      poolMode,
    );
  const listenUrl = options.listenUrl ?? DEFAULTS.listenUrl;
  if (listenUrl !== null && (typeof listenUrl !== "string" || !/^postgres(ql)?:\/\/./.test(listenUrl))) {
    throw new ValidationError(
      "listenUrl",
      "expected a postgres:// or postgresql:// URL of the server itself (not the pooler)",
      listenUrl,
    );
  }
  return { poolMode, listenUrl, logger: options.logger ?? consoleLogger("warn") };
}

export type ResolvedShared = Required<Omit<SharedOptions, "tracing">> & {
  /** Null: tracing off (nothing captured, no span). */
  readonly tracing: JobTracing | null;
};
export type ResolvedDispatcherOptions = ResolvedShared &
  Required<Omit<DispatcherOptions, "queues" | "workers" | "sandbox" | keyof SharedOptions>> & {
    readonly sandbox: Required<SandboxOptions> | null;
    /** Per-queue slot caps: a queue's configured `backgroundWorkers`, else `concurrency`. */
    readonly queueCaps: ReadonlyMap<string, number>;
    readonly queues: readonly string[];
    readonly queueSet: QueueSet;
  };

/** Fills defaults and checks numeric ranges; throws ValidationError on nonsense. */
export function resolveShared(options: SharedOptions = {}, fallbackUsers: UserResolver): ResolvedShared {
  checkSharedShape(options);
  const resolved: ResolvedShared = {
    now: options.now ?? (() => new Date()),
    userResolver: options.userResolver ?? fallbackUsers,
    defaultUserId: options.defaultUserId ?? DEFAULTS.defaultUserId,
    logger: options.logger ?? consoleLogger("warn"),
    transientRetries: options.transientRetries ?? DEFAULTS.transientRetries,
    transientRetryBaseMs: options.transientRetryBaseMs ?? DEFAULTS.transientRetryBaseMs,
    transientRetryBudgetMs: options.transientRetryBudgetMs ?? DEFAULTS.transientRetryBudgetMs,
    transientRetryMaxDelayMs: options.transientRetryMaxDelayMs ?? DEFAULTS.transientRetryMaxDelayMs,
    tracing: options.tracing ?? null,
  };
  checkInt("defaultUserId", resolved.defaultUserId, 1, Number.MAX_SAFE_INTEGER);
  checkInt("transientRetries", resolved.transientRetries, 0, Number.MAX_SAFE_INTEGER);
  checkInt("transientRetryBaseMs", resolved.transientRetryBaseMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt("transientRetryBudgetMs", resolved.transientRetryBudgetMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt("transientRetryMaxDelayMs", resolved.transientRetryMaxDelayMs, 1, Number.MAX_SAFE_INTEGER);
  return resolved;
}

/** `serialTransactions`: the backend runs this process's transactions one at a time (see `Backend`). */
export function resolveDispatcherOptions(
  options: DispatcherOptions = {},
  serialTransactions: boolean,
  fallbackUsers: UserResolver,
): ResolvedDispatcherOptions {
  options = checkOptions("options", options, DISPATCHER_OPTION_KEYS, ["sandbox"]);
  const shared = resolveShared(options, fallbackUsers);
  const queueSet = new QueueSet(options.workers);
  const queues = options.queues === undefined ? queueSet.names() : checkQueueNames(options.queues);
  if (queues.length === 0) throw new ValidationError("queues", "list at least one queue", queues);
  const sandbox = options.sandbox;
  if (
    sandbox !== undefined &&
    sandbox !== null &&
    !guarded("sandbox", () => typeof sandbox === "object" && typeof sandbox.configPath === "string")
  ) {
    throw new ValidationError("sandbox", 'expected { configPath: "path/to/hrp-cron.config.js" }', options.sandbox);
  }
  for (const q of queues) queueSet.get(q); // UnknownQueueError for a typo
  const resolved: ResolvedDispatcherOptions = {
    ...shared,
    queues: [...new Set(queues)],
    sandbox:
      sandbox === undefined || sandbox === null
        ? null
        : { configPath: sandbox.configPath, hardKillGraceMs: sandbox.hardKillGraceMs ?? DEFAULTS.hardKillGraceMs },
    queueCaps: new Map(
      Object.entries(options.workers ?? {})
        .filter(([, w]) => w.backgroundWorkers !== undefined)
        .map(([q, w]) => [q, w.backgroundWorkers!]),
    ),
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
    maxResultBytes: options.maxResultBytes ?? DEFAULTS.maxResultBytes,
    progressIntervalMs: options.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
    deactivateAfterFailures: options.deactivateAfterFailures ?? DEFAULTS.deactivateAfterFailures,
    deactivateAfterMs: options.deactivateAfterMs ?? DEFAULTS.deactivateAfterMs,
    unknownMethodGraceMs: options.unknownMethodGraceMs ?? DEFAULTS.unknownMethodGraceMs,
  };
  // Durations used as timers stay within Node's timer limit (a longer one fires after 1 ms).
  checkInt("pollIntervalMs", resolved.pollIntervalMs, 1, MAX_TIMER_MS);
  checkInt("concurrency", resolved.concurrency, 1, 1000);
  checkInt("batchSize", resolved.batchSize, 1, 1000);
  checkInt("batchMaxMs", resolved.batchMaxMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt("heartbeatIntervalMs", resolved.heartbeatIntervalMs, 1, MAX_TIMER_MS);
  checkInt("workerTimeoutMs", resolved.workerTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  checkInt("recoveryIntervalMs", resolved.recoveryIntervalMs, 1, Number.MAX_SAFE_INTEGER);
  checkInt("gracefulStopMs", resolved.gracefulStopMs, 0, MAX_TIMER_MS);
  checkInt("abandonAfterAbortMs", resolved.abandonAfterAbortMs, 0, MAX_TIMER_MS);
  checkInt("jobTransientRetries", resolved.jobTransientRetries, 0, 100);
  checkInt("maxCatchUpCalls", resolved.maxCatchUpCalls, 1, Number.MAX_SAFE_INTEGER);
  checkInt("maxResultBytes", resolved.maxResultBytes, 0, 1 << 30);
  checkInt("progressIntervalMs", resolved.progressIntervalMs, 0, MAX_TIMER_MS);
  checkInt("deactivateAfterFailures", resolved.deactivateAfterFailures, 1, Number.MAX_SAFE_INTEGER);
  checkInt("deactivateAfterMs", resolved.deactivateAfterMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt("unknownMethodGraceMs", resolved.unknownMethodGraceMs, 0, Number.MAX_SAFE_INTEGER);
  if (resolved.heartbeatIntervalMs >= resolved.workerTimeoutMs) {
    throw new ValidationError(
      "heartbeatIntervalMs",
      `must be below workerTimeoutMs (${resolved.workerTimeoutMs}), got ${resolved.heartbeatIntervalMs}`,
    );
  }
  return resolved;
}

/** The options object and its non-numeric members: a clock function, a resolver, a logger. */
function checkSharedShape(options: SharedOptions): void {
  guarded("options", () => {
    if (!isPlainObject(options) && (typeof options !== "object" || options === null || Array.isArray(options))) {
      throw new ValidationError("options", "expected an options object", options);
    }
    for (const key of SHARED_OPTION_KEYS) {
      if ((options as Record<string, unknown>)[key] === null)
        throw new ValidationError(key, "null is not a value for this option; leave it out to get its default", null);
    }
    if (options.now !== undefined && typeof options.now !== "function")
      throw new ValidationError("now", "expected a function returning a Date", options.now);
    if (options.userResolver !== undefined && typeof options.userResolver?.findUser !== "function") {
      throw new ValidationError("userResolver", "expected an object with findUser(manager, userId)", undefined);
    }
    const tracing = options.tracing as unknown as Record<string, unknown> | undefined;
    if (
      tracing !== undefined &&
      (typeof tracing !== "object" || typeof tracing.capture !== "function" || typeof tracing.startRun !== "function")
    ) {
      throw new ValidationError(
        "tracing",
        "expected openTelemetryTracing() (an object with capture and startRun functions)",
        undefined,
      );
    }
    const logger = options.logger as unknown as Record<string, unknown> | undefined;
    if (
      logger !== undefined &&
      (typeof logger !== "object" ||
        logger === null ||
        !LOG_LEVELS.every((level) => typeof logger[level] === "function"))
    ) {
      throw new ValidationError("logger", `expected an object with ${LOG_LEVELS.join(", ")} functions`, undefined);
    }
  });
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** `queues`: an array of queue names (a string such as "short,default" is refused, not read letter by letter). */
function checkQueueNames(queues: unknown): string[] {
  const list = checkArray("queues", queues);
  for (const q of list)
    if (typeof q !== "string") throw new ValidationError("queues", `expected queue names, got ${typeof q}`, q);
  return list as string[];
}
