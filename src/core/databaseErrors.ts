import { coerceError, HrpCronError } from "./hrpCronError";

/** The database unavailable, busy, or unsure whether a commit happened. */

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
  constructor(
    readonly statement: string,
    readonly sqlState: string,
    options?: { cause?: unknown },
  ) {
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
  constructor(
    readonly what: WriteDescription,
    readonly written: WrittenState,
    attempts: number,
    elapsedMs: number,
    cause: unknown,
    stopping = false,
  ) {
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
  constructor(
    readonly what: WriteDescription,
    readonly transactionId: string | null,
    cause: unknown,
  ) {
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
  constructor(
    readonly database: string,
    readonly waitedMs: number,
    cause: unknown,
  ) {
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

/**
 * The database could not be opened at all: refused or unreachable
 * connection, unknown database, bad password, an SQLite file that cannot be
 * opened. `target` describes where it looked, without secrets
 * (`postgres at 127.0.0.1:5432/app`, `SQLite file ./hrp-cron.sqlite`).
 */
export class DatabaseConnectError extends HrpCronError {
  constructor(
    readonly target: string,
    cause: unknown,
  ) {
    const error = coerceError(cause) as Error & { code?: unknown };
    const reason = `${typeof error.code === "string" ? `${error.code}: ` : ""}${error.message}`
      .replace(/\s+/g, " ")
      .trim();
    super(
      "DATABASE_CONNECT",
      `could not open the database (${target}): ${reason}. Is the server running, and do HRP_CRON_DB / DATABASE_URL or the config's dataSource point at it?`,
      { target, reason },
      { cause },
    );
  }
  override get name(): string {
    return "DatabaseConnectError";
  }
}
