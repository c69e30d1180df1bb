import type { QueryRunner } from "typeorm";
import { timerDelayMs } from "../../core/validate";
import type { SavepointStatements } from "../jobScope";

/**
 * How many jobs of a batch keep their savepoint open instead of releasing
 * it. PostgreSQL caches the ids of 64 subtransactions per backend
 * (`PGPROC_MAX_CACHED_SUBXIDS`); a released savepoint's id stays in that
 * cache until the transaction ends just like an open one, so releasing
 * changes nothing there — but open savepoints nest, and each level is one
 * more step for every "is this row mine?" check of the transaction. Past
 * this many jobs, a job's savepoint is released again (so nesting stays
 * bounded whatever `batchSize` says).
 */
export const UNRELEASED_SAVEPOINTS = 64;

/** The part of a `pg` client that tells the state of its session's transaction (node-postgres 8.x). */
interface StatusClient {
  getTransactionStatus?: () => string | null;
  /** False while a reply's ReadyForQuery (which carries the status) has not arrived yet. */
  readyForQuery?: boolean;
}

/**
 * A job's savepoint on PostgreSQL (see `JobScope`):
 *
 * - opened with the job's `statement_timeout` in the same simple-protocol
 *   round trip (`DEFAULT` undoes an earlier job's limit for a job without
 *   one);
 * - rolled back and dropped in one round trip;
 * - for a batch's first {@link UNRELEASED_SAVEPOINTS} jobs whose every
 *   statement succeeded (`JobScope` asks only then), kept without a
 *   `RELEASE` when the server's last ReadyForQuery said the session is in
 *   an intact transaction block (`T`). A job that caught a database error
 *   and went on leaves the block aborted (`E`) and always gets the
 *   `RELEASE` (node-postgres rejects a failed statement at its
 *   ErrorResponse, before the ReadyForQuery with the new status has
 *   arrived, so the status alone could still say `T`), which fails (25P02)
 *   and fails the job, exactly as when every job released. A driver that
 *   does not report the status always gets the `RELEASE`.
 */
export function postgresSavepoint(name: string, timeoutMs: number | null, position: number): SavepointStatements {
  return {
    open: `SAVEPOINT ${name}; SET LOCAL statement_timeout = ${timeoutMs ? timerDelayMs(timeoutMs) : "DEFAULT"}`,
    rollback: [`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`],
    release: `RELEASE SAVEPOINT ${name}`,
    keepOpen: position <= UNRELEASED_SAVEPOINTS ? transactionIntact : undefined,
  };
}

/** True when the runner's connection last reported an intact transaction block. */
function transactionIntact(runner: QueryRunner): boolean {
  const client = (runner as QueryRunner & { databaseConnection?: StatusClient }).databaseConnection;
  return runner.isTransactionActive && client?.readyForQuery !== false && client?.getTransactionStatus?.() === "T";
}
