import type { QueryRunner } from "typeorm";
import { JobScopeClosedError } from "../core/errors";
import type { QueryCall, RunnerGuard, ScopeEntry } from "./runnerGuard";

/** TypeORM's query-runner state we restore after rolling a job back. */
type RunnerState = QueryRunner & { transactionDepth: number };

/** How a dialect opens and ends one job's savepoint (made by `BaseBackend.jobScope`). */
export interface SavepointStatements {
  /** Opens the savepoint (and may set limits for the job; see `Backend.savepointSql`): one round trip. */
  readonly open: string;
  /** Undoes the job's writes and drops the savepoint, sent in order (PostgreSQL: one message). */
  readonly rollback: readonly string[];
  /** Drops the savepoint keeping the job's writes. */
  readonly release: string;
  /**
   * When given, asked once every statement of a finished job has been
   * answered successfully: true when the job's writes may be kept WITHOUT
   * sending `release` — the savepoint then stays open until the transaction
   * ends (the next job's savepoint nests inside it), which saves a round
   * trip per job. False (or absent) sends `release`, whose failure fails the
   * job. Never asked for a job one of whose statements failed (even if the
   * job caught the error): that job always gets the `release`.
   */
  readonly keepOpen?: (runner: QueryRunner) => boolean;
}

/**
 * Savepoint isolation for one job of a batch.
 *
 * A run transaction executes several jobs one after another; each job's
 * writes must still commit or roll back as a unit of its own. A scope wraps
 * one job: the first query the job makes through the transaction's query
 * runner opens `SAVEPOINT <name>` (so a job that never touches the database
 * costs no round trip), `release()` keeps its writes, `rollback()` undoes
 * them and leaves the rest of the batch intact.
 *
 * Keeping the writes costs no round trip when every statement of the job
 * succeeded and the dialect can tell, from the connection alone, that the
 * transaction is intact ({@link SavepointStatements.keepOpen}: PostgreSQL's
 * transaction status, for the first jobs of a batch): the savepoint is
 * simply left open, and a later job's `ROLLBACK TO` its own savepoint still
 * undoes that job alone. Otherwise `RELEASE SAVEPOINT` is sent, and its
 * failure (PostgreSQL: the job caught a database error and went on, so the
 * transaction is aborted) fails the job.
 *
 * Once a scope is closed, queries still made from its async context (a
 * method abandoned at its timeout that keeps running) are refused with
 * {@link JobScopeClosedError}: they can never land in a later job's
 * savepoint or in the bookkeeping.
 *
 * Made by the backend (`Backend.jobScope`), whose {@link RunnerGuard}
 * routes the runner's queries through the scope.
 *
 * ```ts
 * const scope = backend.jobScope(manager.queryRunner!, "hrp_job_1", timeoutMs, 1);
 * try {
 *   await scope.run(() => method(env, ...args));
 *   await scope.release();
 * } catch (error) {
 *   await scope.rollback();
 * }
 * ```
 */
export class JobScope implements ScopeEntry {
  private opening: Promise<unknown> | null = null;
  private depth = 0;
  private closed = false;
  /** The job's queries not answered yet (a job may leave one un-awaited). */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** One of the job's queries failed: its transaction may be aborted, whether or not the job caught the error. */
  private failed = false;

  constructor(
    readonly runner: QueryRunner,
    readonly name: string,
    private readonly statements: SavepointStatements,
    private readonly guard: RunnerGuard,
  ) {
    guard.install(runner);
  }

  /** Runs `fn` as this job: its queries on the runner go through the savepoint. */
  run<T>(fn: () => T): T {
    return this.guard.runInScope(this, fn);
  }

  /**
   * Ends the job keeping its writes: no round trip where the dialect can
   * tell the transaction is intact, else `RELEASE SAVEPOINT`. Fails if the
   * job left the transaction unusable.
   */
  async release(): Promise<void> {
    this.closed = true;
    if (!this.opening) return;
    await this.opening;
    await Promise.allSettled([...this.inFlight]);
    const state = this.runner as RunnerState;
    // A job that left a nested transaction of its own open gets it released with its savepoint.
    if (this.failed || state.transactionDepth !== this.depth || !this.statements.keepOpen?.(this.runner)) {
      await this.runner.query(this.statements.release); // when it fails, rollback() still has the savepoint to undo
      state.transactionDepth = this.depth;
    }
    this.opening = null;
  }

  /**
   * Ends the job undoing its writes. A query the job still has in flight
   * runs first (the connection executes in order); TypeORM's nesting depth
   * is restored if the job left a nested transaction open.
   */
  async rollback(): Promise<void> {
    this.closed = true;
    if (!this.opening) return;
    await this.opening.catch(() => undefined);
    for (const sql of this.statements.rollback) await this.runner.query(sql);
    (this.runner as RunnerState).transactionDepth = this.depth;
    this.opening = null;
  }

  /** Called (by the runner guard) for each query made inside the scope: opens the savepoint first. */
  query(send: QueryCall, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new JobScopeClosedError(this.name));
    if (!this.opening) {
      this.depth = (this.runner as RunnerState).transactionDepth;
      this.opening = send(this.statements.open);
    }
    const result = this.opening.then(() => send(...args));
    const settled = result.then(
      () => void this.inFlight.delete(settled),
      () => {
        this.failed = true;
        this.inFlight.delete(settled);
      },
    );
    this.inFlight.add(settled);
    return result;
  }
}
