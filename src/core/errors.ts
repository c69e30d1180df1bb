/**
 * The error family of hrp-cron. Every error thrown on purpose by the library
 * is an {@link HrpCronError}; callers can branch on `instanceof` or on the
 * stable `code` string. Each message says what was wrong and what to do.
 */
export class HrpCronError extends Error {
  /** Stable machine-readable code, e.g. `"VALIDATION"`. */
  readonly code: string;
  /** Structured context (ids, field names, values) for logs and callers. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.context = Object.freeze({ ...context });
    // Keep the prototype chain right when compiled to older targets.
    Object.setPrototypeOf(this, new.target.prototype);
  }

  override get name(): string {
    return "HrpCronError";
  }
}

/** Bad input to a public call (empty name, non-JSON args, bad cron expression, ...). Nothing was written. */
export class ValidationError extends HrpCronError {
  constructor(field: string, message: string, value?: unknown) {
    super("VALIDATION", `Invalid ${field}: ${message}`, { field, value });
  }
  override get name(): string {
    return "ValidationError";
  }
}

/** `model.method` is not registered in the {@link ModelRegistry}: it can never run. */
export class UnknownMethodError extends HrpCronError {
  constructor(readonly model: string, readonly method: string) {
    super(
      "UNKNOWN_METHOD",
      `Method \`${model}.${method}\` does not exist: register it with registry.register(${JSON.stringify(model)}, { ${method}(env, ...args) { ... } })`,
      { model, method },
    );
  }
  override get name(): string {
    return "UnknownMethodError";
  }
}

/**
 * The user a job must run as is missing or inactive, or its id now belongs
 * to another login than the one the job was created for (`replaced`: the
 * user was deleted and the id reused); the job does not run as anyone else.
 */
export class InvalidUserError extends HrpCronError {
  constructor(readonly userId: number, reason: "missing" | "inactive" | "replaced", keys: { readonly expected?: string; readonly actual?: string } = {}) {
    super(
      "INVALID_USER",
      reason === "missing"
        ? `User ${userId} does not exist: create it in res_users (or in your user resolver) or set another user on the job`
        : reason === "inactive"
          ? `User ${userId} is inactive: reactivate the user or set another user on the job`
          : `User ${userId} now belongs to another login (${JSON.stringify(keys.actual)}, not ${JSON.stringify(keys.expected)} for whom the job was created), ` +
            `so it was not run as someone else: create the job again for the intended user (or, if that login was only renamed, ` +
            `set user_key to ${JSON.stringify(keys.actual)} on its ir_cron row)`,
      { userId, reason, ...keys },
    );
  }
  override get name(): string {
    return "InvalidUserError";
  }
}

/** A cron or job id that does not exist. */
export class NotFoundError extends HrpCronError {
  constructor(readonly entity: string, readonly id: number | string) {
    super("NOT_FOUND", `${entity} ${id} does not exist`, { entity, id });
  }
  override get name(): string {
    return "NotFoundError";
  }
}

/** The operation is not allowed in the record's current state (e.g. retrying a job that is done). */
export class InvalidStateError extends HrpCronError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super("INVALID_STATE", message, context);
  }
  override get name(): string {
    return "InvalidStateError";
  }
}

/** The cron is being executed right now by a worker; try again when it has finished. */
export class CurrentlyRunningError extends HrpCronError {
  constructor(readonly cronId: number, readonly workerId: string | null) {
    super(
      "CURRENTLY_RUNNING",
      `Cron ${cronId} is currently being executed${workerId ? ` by worker ${workerId}` : ""} and may not be modified; try again when it has finished`,
      { cronId, workerId },
    );
  }
  override get name(): string {
    return "CurrentlyRunningError";
  }
}

/** The worker lost its claim on a cron (it was presumed dead and the cron recovered); its run was rolled back. */
export class ClaimLostError extends HrpCronError {
  constructor(readonly cronId: number, readonly workerId: string) {
    super("CLAIM_LOST", `Worker ${workerId} no longer holds cron ${cronId}; its run was rolled back`, { cronId, workerId });
  }
  override get name(): string {
    return "ClaimLostError";
  }
}

/**
 * A query made by a job method after its run ended (it timed out, was
 * stopped, or its worker stopped, and the method kept going). The run's
 * writes were rolled back; the query was refused so it cannot land in
 * another job's transaction.
 */
export class JobScopeClosedError extends HrpCronError {
  constructor(readonly savepoint: string) {
    super("JOB_ENDED", "This job's run has ended (timed out, stopped, or the worker stopped); the query was refused. Stop work when env.signal aborts", { savepoint });
  }
  override get name(): string {
    return "JobScopeClosedError";
  }
}

/** Configuration that cannot work (missing config file, bad option value). */
export class ConfigError extends HrpCronError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super("CONFIG", message, context);
  }
  override get name(): string {
    return "ConfigError";
  }
}

/** Normalises anything thrown into an `Error` (strings, objects, `undefined`). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === "string") return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`Non-error value thrown: ${text}`, { cause: thrown });
}

/** Message and stack of an error, as stored in `exc_info` / the run log. */
export function formatExcInfo(thrown: unknown): string {
  const err = coerceError(thrown);
  const stack = err.stack ?? `${err.name}: ${err.message}`;
  return stack.includes(err.message) ? stack : `${err.name}: ${err.message}\n${stack}`;
}

/** A queue name that is neither built in (`short`, `default`, `long`) nor configured. Nothing was written. */
export class UnknownQueueError extends HrpCronError {
  constructor(readonly queue: string, known: readonly string[]) {
    super("UNKNOWN_QUEUE", `Queue "${queue}" does not exist; use one of ${known.join(", ")} or configure it under workers: { ${JSON.stringify(queue)}: { timeoutMs, backgroundWorkers } }`, {
      queue, known,
    });
  }
  override get name(): string {
    return "UnknownQueueError";
  }
}

/** A run that exceeded its timeout: its writes were rolled back and the job failed. */
export class JobTimeoutError extends HrpCronError {
  constructor(readonly timeoutMs: number) {
    super("TIMEOUT", `Job timed out after ${formatSeconds(timeoutMs)} s; its writes were rolled back`, { timeoutMs });
  }
  override get name(): string {
    return "JobTimeoutError";
  }
}

/** A run stopped by an operator (`stopJob`): rolled back, state `stopped`, not retried. */
export class JobStoppedError extends HrpCronError {
  constructor(readonly jobId: number | null) {
    super("STOPPED", `Job ${jobId ?? ""} was stopped by an operator; its writes were rolled back`.replace("  ", " "), { jobId });
  }
  override get name(): string {
    return "JobStoppedError";
  }
}

/**
 * Throw from a job method to ask for a retry after `delayMs` (instead of the
 * queue's backoff). It still counts against the job's `maxRetries`.
 */
export class RetryableJobError extends HrpCronError {
  constructor(message: string, readonly delayMs?: number) {
    super("RETRYABLE", message, { delayMs });
  }
  override get name(): string {
    return "RetryableJobError";
  }
}

/**
 * The run of a job killed its worker process (a crash, an OOM kill,
 * `process.exit`) `crashes` times — its queue's `maxCrashes` — so it is
 * failed instead of being recovered and run again: a poison job must not
 * take every worker down in turn. Recorded as the job's error; nothing of
 * its runs was committed.
 */
export class WorkerCrashedError extends HrpCronError {
  constructor(readonly crashes: number, readonly workerId: string, reason: string) {
    super(
      "WORKER_CRASHED",
      `The worker died ${crashes} time${crashes === 1 ? "" : "s"} while running this job (last: worker ${workerId} ${reason}); it was failed so it cannot take more workers down. Fix the method, then retry the job`,
      { crashes, workerId, reason },
    );
  }
  override get name(): string {
    return "WorkerCrashedError";
  }
}

function formatSeconds(ms: number): string {
  return Number.isInteger(ms / 1000) ? String(ms / 1000) : (ms / 1000).toFixed(3).replace(/0+$/, "");
}

/**
 * PostgreSQL lost one of hrp-cron's prepared statements, or already had it,
 * on the connection a transaction got (SQLSTATE 26000 / 42P05): the
 * DataSource goes through a pooler in transaction mode. The backend has
 * switched to unnamed statements for good; the transaction was aborted and
 * is retried like any transient error (hrp-cron's own ones automatically;
 * a caller's transaction must be rolled back and retried by the caller).
 * Set `poolMode: "transaction"` to avoid it.
 */
export class PreparedStatementLostError extends HrpCronError {
  constructor(readonly statement: string, readonly sqlState: string, options?: { cause?: unknown }) {
    super(
      "PREPARED_STATEMENT_LOST",
      `PostgreSQL ${sqlState === "42P05" ? "already had" : "no longer had"} hrp-cron's prepared statement "${statement}" on this connection (SQLSTATE ${sqlState}): ` +
        `the connections go through a pooler in transaction mode (PgBouncer pool_mode = transaction?). hrp-cron now uses unnamed statements on this DataSource; ` +
        `roll back and retry the transaction, and set poolMode: "transaction" (CLI: HRP_CRON_PG_POOL_MODE=transaction) so it does not happen`,
      { statement, sqlState },
      options,
    );
  }
  override get name(): string {
    return "PreparedStatementLostError";
  }
}

/** What a call that gave up had written: `"nothing"` (safe to call again) or `"unknown"` (look before calling again). */
export type WrittenState = "nothing" | "unknown";

/** What a write was doing, for {@link DatabaseUnavailableError} and {@link CommitOutcomeUnknownError}: `{ operation: "enqueue", method, queue }`. */
export type WriteDescription = { readonly operation: string } & Readonly<Record<string, unknown>>;

/**
 * The database stayed unreachable or busy (connection refused, server
 * starting up or shutting down, dropped connections, SQLite busy) for the
 * whole retry budget (`transientRetryBudgetMs`), or the worker was
 * stopping. `written` says whether anything was written: `"nothing"` when
 * no attempt reached its commit, so the call can simply be made again.
 */
export class DatabaseUnavailableError extends HrpCronError {
  constructor(readonly what: WriteDescription, readonly written: WrittenState, attempts: number, elapsedMs: number, cause: unknown, stopping = false) {
    const reason = coerceError(cause).message;
    super(
      "DATABASE_UNAVAILABLE",
      `The database was unavailable for ${what.operation} (${reason}); ${stopping ? "gave up because the worker is stopping" : `gave up after ${attempts} attempt(s) over ${(elapsedMs / 1000).toFixed(1)} s`}. ` +
        (written === "nothing"
          ? "Nothing was written: call again once the database is back (or raise transientRetryBudgetMs to wait longer)"
          : "An earlier attempt may have committed: check before calling again"),
      { ...what, written, attempts, elapsedMs, reason },
      { cause },
    );
  }
  override get name(): string {
    return "DatabaseUnavailableError";
  }
}

/**
 * The connection failed while COMMIT was on its way, and whether the
 * server committed could not be learned within the retry budget (the
 * database stayed unreachable, or no longer knows the transaction). The
 * write happened exactly once or not at all — never twice: it was not
 * retried. Look (e.g. for the job's `jobId` or name) before calling again.
 */
export class CommitOutcomeUnknownError extends HrpCronError {
  readonly written: WrittenState = "unknown";
  constructor(readonly what: WriteDescription, readonly transactionId: string | null, cause: unknown) {
    super(
      "COMMIT_UNKNOWN",
      `The connection was lost while committing ${what.operation}${transactionId ? ` (transaction ${transactionId})` : ""} and the database could not say whether it committed (${coerceError(cause).message}); ` +
        "it was written once or not at all, never twice. Check before calling again",
      { ...what, transactionId, written: "unknown" },
      { cause },
    );
  }
  override get name(): string {
    return "CommitOutcomeUnknownError";
  }
}

/**
 * SQLite's write lock stayed taken for the whole busy timeout (the DataSource's
 * `timeout`, which hrp-cron waits out asynchronously, without blocking the
 * event loop). The transaction never started; nothing was written. Another
 * connection — another process, or another DataSource on the same file in
 * this process — holds a write transaction open: keep those short, or share
 * one DataSource per file in a process.
 */
export class DatabaseBusyError extends HrpCronError {
  constructor(readonly database: string, readonly waitedMs: number, cause: unknown) {
    super(
      "DATABASE_BUSY",
      `SQLite database ${database} stayed locked by another connection for ${waitedMs} ms (its busy timeout); the transaction did not start and nothing was written. ` +
        "Keep write transactions short, share one DataSource per file in a process, or raise the DataSource's timeout",
      { database, waitedMs },
      { cause },
    );
  }
  override get name(): string {
    return "DatabaseBusyError";
  }
}
