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

function formatSeconds(ms: number): string {
  return Number.isInteger(ms / 1000) ? String(ms / 1000) : (ms / 1000).toFixed(3).replace(/0+$/, "");
}
