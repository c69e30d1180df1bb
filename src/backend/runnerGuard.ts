import { AsyncLocalStorage } from "node:async_hooks";
import type { QueryRunner } from "typeorm";

/** A call of a query runner's `query`. */
export type QueryCall = (...args: unknown[]) => Promise<unknown>;

/**
 * A dialect's step in front of every query of a guarded runner: it may
 * refuse the query or run it another way; `next` runs it as TypeORM would.
 */
export type QueryStep = (runner: QueryRunner, args: unknown[], next: QueryCall) => Promise<unknown>;

/** A job's savepoint scope, as the guard sees it (see `JobScope`). */
export interface ScopeEntry {
  readonly runner: QueryRunner;
  /** Runs a query made inside the scope (`send(...args)`), opening the job's savepoint first. */
  query(send: QueryCall, args: unknown[]): Promise<unknown>;
}

/**
 * The one wrapper hrp-cron puts around a TypeORM query runner's `query`
 * (TypeORM has no hook for it): installed once per runner, owned by the
 * DataSource's backend. Each query then goes through, in order:
 *
 * 1. the job scope: inside a job method (`runInScope`), the job's first
 *    query opens its savepoint, and a query of a job whose run has ended is
 *    refused (`JobScopeClosedError`) — see `JobScope`;
 * 2. the dialect's step (SQLite: refuse queries of an abandoned run's async
 *    context; send `BEGIN` through the asynchronous write-lock wait);
 * 3. TypeORM's own `query`.
 *
 * The savepoint of step 1 is itself opened through steps 2 and 3. The
 * guard writes only the runner's `query` property; the TypeORM internals a
 * dialect keeps in step (`isTransactionActive`, `transactionDepth`) are
 * written by that dialect and by `JobScope.rollback`, each documented there.
 */
export class RunnerGuard {
  private readonly wrapped = new WeakSet<QueryRunner>();
  private readonly scopes = new AsyncLocalStorage<ScopeEntry>();

  constructor(private readonly dialectStep: QueryStep | null = null) {}

  /** Wraps `runner.query` (once). */
  install(runner: QueryRunner): void {
    if (this.wrapped.has(runner)) return;
    this.wrapped.add(runner);
    const original = runner.query.bind(runner) as QueryCall;
    const step = this.dialectStep;
    const base: QueryCall = step ? (...args) => step(runner, args, original) : original;
    (runner as { query: unknown }).query = (...args: unknown[]) => {
      const scope = this.scopes.getStore();
      if (scope && scope.runner === runner) return scope.query(base, args);
      return base(...args);
    };
  }

  /** Runs `fn` inside `scope`: its queries on the scope's runner go through the scope first. */
  runInScope<T>(scope: ScopeEntry, fn: () => T): T {
    return this.scopes.run(scope, fn);
  }

  /** True while code inside a job scope on `runner` runs (a job method's own statements). */
  inScope(runner: QueryRunner): boolean {
    return this.scopes.getStore()?.runner === runner;
  }
}
