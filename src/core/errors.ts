import { HrpCronError } from "./hrpCronError";

export * from "./hrpCronError";
export * from "./jobErrors";
export * from "./databaseErrors";

/**
 * The errors of bad input and refused operations (nothing was written).
 * This module is also the one place to import any hrp-cron error from: it
 * re-exports the base class, the errors a run records (`jobErrors.ts`) and
 * the database's (`databaseErrors.ts`).
 */

/** Bad input to a public call (empty name, non-JSON args, bad cron expression, ...). Nothing was written. */
export class ValidationError extends HrpCronError {
  constructor(field: string, message: string, value?: unknown) {
    super("VALIDATION", `Invalid ${field}: ${message}`, { field, value });
  }
  override get name(): string {
    return "ValidationError";
  }
}

/**
 * `model.method` is not registered in the {@link ModelRegistry}: it can never run.
 * `item` names the entry of a bulk call that asked for it (`calls[3]`).
 */
export class UnknownMethodError extends HrpCronError {
  constructor(
    readonly model: string,
    readonly method: string,
    item?: string,
  ) {
    super(
      "UNKNOWN_METHOD",
      `${item ? `${item}: ` : ""}Method \`${model}.${method}\` does not exist: register it with registry.register(${JSON.stringify(model)}, { ${method}(env, ...args) { ... } })`,
      item ? { model, method, item } : { model, method },
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
 * `item` names the first entry of a bulk call that asked for the user (`calls[3]`).
 */
export class InvalidUserError extends HrpCronError {
  constructor(
    readonly userId: number,
    reason: "missing" | "inactive" | "replaced",
    keys: { readonly expected?: string; readonly actual?: string } = {},
    item?: string,
  ) {
    super(
      "INVALID_USER",
      (item ? `${item}: ` : "") +
        (reason === "missing"
          ? `User ${userId} does not exist: create it in res_users (or in your user resolver) or set another user on the job`
          : reason === "inactive"
            ? `User ${userId} is inactive: reactivate the user or set another user on the job`
            : `User ${userId} now belongs to another login (${JSON.stringify(keys.actual)}, not ${JSON.stringify(keys.expected)} for whom the job was created), ` +
              `so it was not run as someone else: create the job again for the intended user (or, if that login was only renamed, ` +
              `set user_key to ${JSON.stringify(keys.actual)} on its ir_cron row)`),
      item ? { userId, reason, ...keys, item } : { userId, reason, ...keys },
    );
  }
  override get name(): string {
    return "InvalidUserError";
  }
}

/** A cron or job id that does not exist. */
export class NotFoundError extends HrpCronError {
  constructor(
    readonly entity: string,
    readonly id: number | string,
  ) {
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
  constructor(
    /** The cron (a job's `ir_cron` row; 0 for a queue job, which has none). */
    readonly cronId: number,
    readonly workerId: string | null,
    /** The job, when what runs is a job. */
    readonly jobId: number | null = null,
  ) {
    super(
      "CURRENTLY_RUNNING",
      `${jobId === null ? `Cron ${cronId}` : `Job ${jobId}`} is currently being executed${workerId ? ` by worker ${workerId}` : ""} and may not be modified; try again when it has finished`,
      { cronId, workerId, jobId },
    );
  }
  override get name(): string {
    return "CurrentlyRunningError";
  }
}

/** The worker lost its claim on a cron (it was presumed dead and the cron recovered); its run was rolled back. */
export class ClaimLostError extends HrpCronError {
  constructor(
    /** The cron (a job's `ir_cron` row; 0 for a queue job, which has none). */
    readonly cronId: number,
    readonly workerId: string,
    /** The job, when the claim was a job's. */
    readonly jobId: number | null = null,
  ) {
    super(
      "CLAIM_LOST",
      `Worker ${workerId} no longer holds ${jobId === null ? `cron ${cronId}` : `job ${jobId}`}; its run was rolled back`,
      { cronId, workerId, jobId },
    );
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
    super(
      "JOB_ENDED",
      "This job's run has ended (timed out, stopped, or the worker stopped); the query was refused. Stop work when env.signal aborts",
      { savepoint },
    );
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

/**
 * The package of the database driver a DataSource needs is not installed.
 * hrp-cron leaves the drivers to the application (optional peer
 * dependencies): `better-sqlite3` for SQLite, `pg` for PostgreSQL. Nothing
 * was opened.
 */
export class DriverNotInstalledError extends HrpCronError {
  constructor(
    /** The TypeORM driver type asked for (`"better-sqlite3"`, `"postgres"`). */
    readonly driverType: string,
    /** The npm package that driver loads. */
    readonly packageName: string,
    options?: { cause?: unknown },
  ) {
    super(
      "DRIVER_NOT_INSTALLED",
      `The ${JSON.stringify(driverType)} DataSource needs the package ${packageName}, which is not installed: ` +
        `run \`npm install ${packageName}\` in your application (hrp-cron does not install database drivers itself)`,
      { driverType, packageName },
      options,
    );
  }
  override get name(): string {
    return "DriverNotInstalledError";
  }
}

/**
 * An optional feature needs a package the application has not installed:
 * `openTelemetryTracing()` needs `@opentelemetry/api`. hrp-cron leaves such
 * packages to the application (optional peer dependencies), so that one
 * copy serves the application and hrp-cron. Nothing was changed.
 */
export class PackageNotInstalledError extends HrpCronError {
  constructor(
    /** The npm package. */
    readonly packageName: string,
    /** What needs it (`openTelemetryTracing()`). */
    readonly feature: string,
    options?: { cause?: unknown },
  ) {
    super(
      "PACKAGE_NOT_INSTALLED",
      `${feature} needs the package ${packageName}, which is not installed: ` +
        `run \`npm install ${packageName}\` in your application (hrp-cron does not install it itself)`,
      { packageName, feature },
      options,
    );
  }
  override get name(): string {
    return "PackageNotInstalledError";
  }
}

/**
 * hrp-cron's migrations are forward-only: TypeORM's `migration:revert`
 * reached one of them (`TYPEORM_MIGRATIONS`). Nothing was changed.
 */
export class IrreversibleMigrationError extends HrpCronError {
  constructor(readonly migration: string) {
    super(
      "IRREVERSIBLE_MIGRATION",
      `hrp-cron migration ${migration} cannot be reverted: hrp-cron's migrations are forward-only. ` +
        "Nothing was changed; to undo it, restore a backup taken before it ran",
      { migration },
    );
  }
  override get name(): string {
    return "IrreversibleMigrationError";
  }
}

/**
 * A queue name that is neither built in (`short`, `default`, `long`) nor configured. Nothing was written.
 * `item` names the entry of a bulk call that asked for it (`jobs[3]`).
 */
export class UnknownQueueError extends HrpCronError {
  constructor(
    readonly queue: string,
    known: readonly string[],
    item?: string,
  ) {
    super(
      "UNKNOWN_QUEUE",
      `${item ? `${item}: ` : ""}Queue "${queue}" does not exist; use one of ${known.join(", ")} or configure it under workers: { ${JSON.stringify(queue)}: { timeoutMs, backgroundWorkers } }`,
      item ? { queue, known, item } : { queue, known },
    );
  }
  override get name(): string {
    return "UnknownQueueError";
  }
}
