import type { QueryRunner } from "typeorm";
import { JobScopeClosedError } from "../core/errors";
import type { QueryCall, RunnerGuard, ScopeEntry } from "./runnerGuard";

/** TypeORM's query-runner state we restore after rolling a job back. */
type RunnerState = QueryRunner & { transactionDepth: number };

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
 * Once a scope is closed, queries still made from its async context (a
 * method abandoned at its timeout that keeps running) are refused with
 * {@link JobScopeClosedError}: they can never land in a later job's
 * savepoint or in the bookkeeping.
 *
 * Made by the backend (`Backend.jobScope`), whose {@link RunnerGuard}
 * routes the runner's queries through the scope.
 *
 * ```ts
 * const scope = backend.jobScope(manager.queryRunner!, "hrp_job_1", timeoutMs);
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

  /** `openSql` opens the savepoint `name` (and may set limits for the job; see `Backend.savepointSql`). */
  constructor(
    readonly runner: QueryRunner,
    readonly name: string,
    private readonly openSql: string,
    private readonly guard: RunnerGuard,
  ) {
    guard.install(runner);
  }

  /** Runs `fn` as this job: its queries on the runner go through the savepoint. */
  run<T>(fn: () => T): T {
    return this.guard.runInScope(this, fn);
  }

  /** Ends the job keeping its writes (`RELEASE SAVEPOINT`). Fails if the job left the transaction unusable. */
  async release(): Promise<void> {
    this.closed = true;
    if (!this.opening) return;
    await this.opening;
    await this.runner.query(`RELEASE SAVEPOINT ${this.name}`);
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
    await this.runner.query(`ROLLBACK TO SAVEPOINT ${this.name}`);
    await this.runner.query(`RELEASE SAVEPOINT ${this.name}`);
    (this.runner as RunnerState).transactionDepth = this.depth;
    this.opening = null;
  }

  /** Called (by the runner guard) before each query made inside the scope. */
  enter(query: QueryCall): Promise<unknown> {
    if (this.closed) return Promise.reject(new JobScopeClosedError(this.name));
    if (!this.opening) {
      this.depth = (this.runner as RunnerState).transactionDepth;
      this.opening = query(this.openSql);
    }
    return this.opening;
  }
}
