import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, QueryRunner } from "typeorm";
import type { QueryCall } from "../runnerGuard";
import { ImmediateBegin, type NativeSqlite } from "./begin";

/**
 * TypeORM's query-runner fields this module keeps in step when hrp-cron
 * opens the transaction itself (TypeORM has no API for it): the runner is
 * marked in a transaction of depth 1 while hrp-cron's runs, and un-marked
 * when an application BEGIN never happened.
 */
export type RunnerState = QueryRunner & {
  isTransactionActive: boolean;
  transactionDepth: number;
  /** `databaseConnection` has this name in TypeORM 0.3 and 1.x alike (the driver's `connection` / `dataSource` do not). */
  readonly driver: { readonly databaseConnection: NativeSqlite };
};

/** hrp-cron's transaction as seen from its async context: `open` until it ends. */
export interface RunScope {
  open: boolean;
}

/**
 * TypeORM's better-sqlite3 driver hands every caller the same query runner.
 * Without this guard, an application transaction started while hrp-cron's
 * is open would silently become a SAVEPOINT inside it (and commit or roll
 * back with a job). The guard makes such a transaction wait until
 * hrp-cron's has finished; transactions a job method opens itself (inside
 * hrp-cron's) still nest as savepoints, as TypeORM intends. One per shared
 * runner, owned by the DataSource's `SqliteBackend`.
 */
export class SharedRunner {
  /** hrp-cron's open transaction, if any: application transactions wait for it. */
  busy: Promise<void> | null = null;
  /** The async context of hrp-cron's transaction. */
  readonly inside = new AsyncLocalStorage<RunScope>();
  private ended: Array<() => void> = [];
  /** `BEGIN IMMEDIATE` on the shared connection. */
  private readonly immediate: ImmediateBegin;

  constructor(
    private readonly runner: RunnerState,
    private readonly dataSource: DataSource,
  ) {
    this.immediate = new ImmediateBegin(() => runner.driver.databaseConnection);
    const original = runner.startTransaction.bind(runner);
    runner.startTransaction = async (isolation) => {
      while (this.busy && !this.inside.getStore()?.open) await this.busy;
      return original(isolation);
    };
    for (const end of ["commitTransaction", "rollbackTransaction"] as const) {
      const finish = runner[end].bind(runner);
      runner[end] = async () => {
        try {
          await finish();
        } finally {
          if (!runner.isTransactionActive) {
            const waiters = this.ended;
            this.ended = [];
            for (const wake of waiters) wake();
          }
        }
      };
    }
  }

  /** Resolves when the application's open transaction ends (hrp-cron's waits for it). The timer is a backstop only. */
  appEnded(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.ended.push(resolve);
      setTimeout(resolve, 50).unref();
    });
  }

  /**
   * SQLite's step in front of each query of the shared runner (see
   * `RunnerGuard`): a job method abandoned at its timeout keeps running, and
   * its later queries would land outside any transaction (or in someone
   * else's) on the shared connection, so they are refused. Application
   * transactions take the write lock up front too: a deferred transaction
   * that reads and then writes while another process commits fails with
   * SQLITE_BUSY at once (the busy timeout cannot help a lock upgrade), and
   * that must not reach users. Both hrp-cron's and the application's BEGIN
   * wait for the lock without blocking the event loop.
   */
  query(args: unknown[], next: QueryCall): Promise<unknown> {
    const scope = this.inside.getStore();
    if (scope && !scope.open) {
      return Promise.reject(
        new Error("this job's transaction has ended (timed out, stopped or the worker stopped); the query was refused"),
      );
    }
    if (args[0] === "BEGIN TRANSACTION" || args[0] === "BEGIN IMMEDIATE")
      return this.begin(args[0] === "BEGIN TRANSACTION");
    return next(...args);
  }

  /**
   * `BEGIN IMMEDIATE` on the shared connection, waiting for the write lock
   * asynchronously ({@link ImmediateBegin}). For an application transaction
   * (TypeORM's `startTransaction` has already marked the runner active) a
   * BEGIN that never happened un-marks it, so the runner is not left "in a
   * transaction" that does not exist.
   */
  private async begin(forApplication: boolean): Promise<undefined> {
    const runner = this.runner;
    this.dataSource.logger.logQuery("BEGIN IMMEDIATE", [], runner);
    try {
      await this.immediate.begin();
      return undefined;
    } catch (error) {
      if (forApplication) runner.isTransactionActive = false;
      throw error;
    }
  }
}
