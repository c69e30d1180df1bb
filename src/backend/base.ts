import type { EntityManager, QueryRunner } from "typeorm";
import { currentJobManager } from "../core/context";
import type { TransactionWork } from "./backend";
import { JobScope, type SavepointStatements } from "./jobScope";
import { RunnerGuard, type QueryCall } from "./runnerGuard";

/**
 * The caller's open transaction: `given` (a caller's `{ manager }`), else
 * the transaction of the job method running now (so that hrp-cron calls a
 * job makes commit or roll back with its run — and, on SQLite, do not wait
 * forever for the run's own transaction). Undefined when neither is open.
 */
export function callerTransaction(given?: EntityManager): EntityManager | undefined {
  const manager = given ?? currentJobManager();
  return manager?.queryRunner?.isTransactionActive ? manager : undefined;
}

/** What both backends share: the runner guard and the job scopes it routes, and joining a caller's transaction. */
export abstract class BaseBackend {
  /** The one wrapper of this DataSource's query runners (see {@link RunnerGuard}). */
  protected readonly guard = new RunnerGuard((runner, args, next) => this.queryStep(runner, args, next));

  abstract transaction<T>(work: TransactionWork<T>): Promise<T>;
  abstract savepointSql(name: string, timeoutMs: number | null): string;

  /**
   * One job of a batch in its own savepoint `name` on `runner` (see `JobScope`); `timeoutMs` bounds its statements
   * where the dialect can; `position` is the job's place in its batch (1 for the first).
   */
  jobScope(runner: QueryRunner, name: string, timeoutMs: number | null, position: number): JobScope {
    return new JobScope(runner, name, this.savepointStatements(name, timeoutMs, position), this.guard);
  }

  /** The statements of a job's savepoint; by default `RELEASE` keeps its writes and rollback takes two statements. */
  protected savepointStatements(name: string, timeoutMs: number | null, _position: number): SavepointStatements {
    return {
      open: this.savepointSql(name, timeoutMs),
      rollback: [`ROLLBACK TO SAVEPOINT ${name}`, `RELEASE SAVEPOINT ${name}`],
      release: `RELEASE SAVEPOINT ${name}`,
    };
  }

  async inTransaction<T>(manager: EntityManager | undefined, work: TransactionWork<T>): Promise<T> {
    const joined = manager?.queryRunner?.isTransactionActive ? manager : undefined;
    return joined ? work(joined) : this.transaction(work);
  }

  /** The dialect's step in front of each query of a guarded runner (see `QueryStep`); by default none. */
  protected queryStep(_runner: QueryRunner, args: unknown[], next: QueryCall): Promise<unknown> {
    return next(...args);
  }
}
