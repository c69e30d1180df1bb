import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, EntityManager, QueryRunner } from "typeorm";
import type { Backend, CommitStatus, JsonColumns, TransactionWork } from "../backend";
import { affectedRows, driverError, encodeJsonRows, rawQuery } from "../common";
import { Mutex } from "../mutex";
import { beginImmediate, type NativeSqlite } from "./begin";
import { DatabaseBusyError } from "../../core/errors";

const TRANSIENT_SQLITE_CODES = new Set(["SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY", "SQLITE_LOCKED"]);

/** Internal TypeORM query-runner fields we keep in step when we open the transaction ourselves. */
type RunnerState = QueryRunner & {
  isTransactionActive: boolean;
  transactionDepth: number;
  readonly driver: { readonly databaseConnection: NativeSqlite; readonly dataSource: DataSource };
};

/** Installed once per shared runner: the promise of hrp-cron's open transaction, if any. */
interface RunScope {
  open: boolean;
}
interface Guard {
  /** hrp-cron's open transaction, if any: application transactions wait for it. */
  busy: Promise<void> | null;
  inside: AsyncLocalStorage<RunScope>;
  /** Resolves when the application's open transaction ends (hrp-cron's waits for it). */
  appEnded(): Promise<void>;
}
const guards = new WeakMap<QueryRunner, Guard>();

/**
 * TypeORM's better-sqlite3 driver hands every caller the same query runner.
 * Without a guard, an application transaction started while hrp-cron's is
 * open would silently become a SAVEPOINT inside it (and commit or roll back
 * with a job). The guard makes such a transaction wait until hrp-cron's has
 * finished; transactions a job method opens itself (inside hrp-cron's) still
 * nest as savepoints, as TypeORM intends.
 */
function guardRunner(runner: RunnerState) {
  let guard = guards.get(runner);
  if (guard) return guard;
  let ended: Array<() => void> = [];
  const created: Guard = {
    busy: null,
    inside: new AsyncLocalStorage<RunScope>(),
    // The timer is a backstop only: commit and rollback below wake the waiter at once.
    appEnded: () =>
      new Promise<void>((resolve) => {
        ended.push(resolve);
        setTimeout(resolve, 50).unref();
      }),
  };
  const original = runner.startTransaction.bind(runner);
  runner.startTransaction = async (isolation) => {
    while (created.busy && !created.inside.getStore()?.open) await created.busy;
    return original(isolation);
  };
  for (const end of ["commitTransaction", "rollbackTransaction"] as const) {
    const finish = runner[end].bind(runner);
    runner[end] = async () => {
      try {
        await finish();
      } finally {
        if (!runner.isTransactionActive) {
          const waiters = ended;
          ended = [];
          for (const wake of waiters) wake();
        }
      }
    };
  }
  // A job method abandoned at its timeout keeps running: its later queries would
  // land outside any transaction (or in someone else's) on the shared connection.
  const query = runner.query.bind(runner) as (...a: unknown[]) => Promise<unknown>;
  (runner as { query: unknown }).query = (...args: unknown[]) => {
    const scope = created.inside.getStore();
    if (scope && !scope.open) {
      return Promise.reject(new Error("this job's transaction has ended (timed out, stopped or the worker stopped); the query was refused"));
    }
    // Application transactions take the write lock up front too: a deferred transaction
    // that reads and then writes while another process commits fails with SQLITE_BUSY at
    // once (the busy timeout cannot help a lock upgrade), and that must not reach users.
    // Both hrp-cron's and the application's wait for the lock without blocking the event loop.
    if (args[0] === "BEGIN TRANSACTION" || args[0] === "BEGIN IMMEDIATE") return begin(runner, args[0] === "BEGIN TRANSACTION");
    return query(...args);
  };
  guards.set(runner, created);
  return created;
}

/**
 * `BEGIN IMMEDIATE` on the shared connection, waiting for the write lock
 * asynchronously ({@link beginImmediate}). For an application transaction
 * (TypeORM's `startTransaction` has already marked the runner active) a BEGIN
 * that never happened un-marks it, so the runner is not left "in a
 * transaction" that does not exist.
 */
async function begin(runner: RunnerState, forApplication: boolean): Promise<undefined> {
  runner.driver.dataSource.logger.logQuery("BEGIN IMMEDIATE", [], runner);
  try {
    await beginImmediate(runner.driver.databaseConnection);
    return undefined;
  } catch (error) {
    if (forApplication) runner.isTransactionActive = false;
    throw error;
  }
}

/**
 * SQLite (better-sqlite3) backend: the embedded default.
 *
 * TypeORM gives a better-sqlite3 DataSource one shared connection, so this
 * backend serialises hrp-cron's transactions within the process (a mutex per
 * DataSource) and waits for a transaction the application itself has open on
 * that connection. Across processes SQLite's file lock serialises writers;
 * transactions start with `BEGIN IMMEDIATE` so a writer never has to upgrade
 * a read lock (which fails at once with `SQLITE_BUSY` instead of waiting),
 * and they wait for that lock with timers, not inside SQLite's busy handler,
 * so a second DataSource on the same file in this process (or another
 * process) holding the lock never freezes the event loop.
 * Claims are plain columns written inside such a transaction, so two
 * processes on one file never claim the same cron.
 */
export class SqliteBackend implements Backend {
  readonly dialect = "sqlite" as const;
  readonly ddl = { serialPrimaryKey: "INTEGER PRIMARY KEY AUTOINCREMENT", timestamp: "datetime", provesPartialIndexes: false };
  readonly serialTransactions = true;
  readonly claimLockClause = "";
  private readonly mutex = new Mutex();

  constructor(private readonly dataSource: DataSource) {
    // Guard the shared runner from the start, so application transactions behave the same before our first one.
    guardRunner(dataSource.createQueryRunner() as RunnerState);
  }

  async transaction<T>(work: TransactionWork<T>): Promise<T> {
    return this.mutex.run(async () => {
      const runner = this.dataSource.createQueryRunner() as RunnerState;
      const guard = guardRunner(runner);
      // The connection is shared with the application: let its transaction finish first.
      while (runner.isTransactionActive) await guard.appEnded();
      // Claim the runner synchronously (no await between the check and the claim).
      let done!: () => void;
      const scope: RunScope = { open: true };
      guard.busy = new Promise<void>((resolve) => (done = resolve));
      runner.isTransactionActive = true;
      runner.transactionDepth = 1;
      try {
        await runner.query("BEGIN IMMEDIATE");
        const result = await guard.inside.run(scope, () => work(runner.manager));
        await runner.query("COMMIT");
        return result;
      } catch (error) {
        try {
          await runner.query("ROLLBACK");
        } catch {
          // SQLite already rolled back (e.g. after SQLITE_FULL); the original error matters.
        }
        throw error;
      } finally {
        scope.open = false;
        runner.isTransactionActive = false;
        runner.transactionDepth = 0;
        guard.busy = null;
        done();
      }
    });
  }

  /**
   * {@link transaction}: SQLite's COMMIT cannot lose a reply. It is a call
   * into the library in this process, not a message to a server; it returns
   * once the commit is durable (WAL appended) or fails, and a failed COMMIT
   * (busy, I/O error, full disk) leaves nothing committed — the journal
   * rolls it back. So a transient error here always means "not written".
   */
  trackedTransaction<T>(work: TransactionWork<T>): Promise<T> {
    return this.transaction(work);
  }

  /** Never asked (see {@link trackedTransaction}). */
  async commitStatus(): Promise<CommitStatus> {
    return "unknown";
  }

  async announceWork(): Promise<void> {
    // One file, usually one process: the in-process wake-up and polling cover it.
  }

  savepointSql(name: string): string {
    // SQLite statements are synchronous and short; the run's own timeout covers it.
    return `SAVEPOINT ${name}`;
  }

  async lockForLimits(): Promise<void> {
    // BEGIN IMMEDIATE already excludes every other writer.
  }

  isUniqueViolation(error: unknown): boolean {
    const code = driverError(error).code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  }

  async listen(): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  async inTransaction<T>(manager: EntityManager | undefined, work: TransactionWork<T>): Promise<T> {
    if (manager?.queryRunner?.isTransactionActive) return work(manager);
    return this.transaction(work);
  }

  async query<R>(manager: EntityManager, sql: string, params: unknown[] = []): Promise<R[]> {
    const result = await rawQuery(manager, sql, params.map(toSqliteParam));
    return (result.records ?? []) as R[];
  }

  async execute(manager: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
    const result = await rawQuery(manager, sql, params.map(toSqliteParam));
    return result.affected ?? affectedRows(result);
  }

  jsonTable(alias: string, columns: JsonColumns): string {
    const picks = Object.keys(columns).map((name) => `json_extract(value, '$.${name}') AS ${name}`);
    return `(SELECT ${picks.join(", ")} FROM json_each(?)) AS ${alias}`;
  }

  jsonRows(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
    return encodeJsonRows(columns, rows, (d) => this.toDbDate(d), (b) => (b ? 1 : 0));
  }

  updateFrom(table: string, alias: string, columns: JsonColumns): string {
    // Driven by the JSON rows: one primary-key lookup each (an extra IN on the ids
    // would make SQLite re-read the JSON for every row).
    return `FROM ${this.jsonTable(alias, columns)} WHERE ${table}.id = ${alias}.id`;
  }

  updateFromParams(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): unknown[] {
    return [this.jsonRows(columns, rows)];
  }

  idIn(column: string): string {
    return `${column} IN (SELECT value FROM json_each(?))`;
  }

  idList(ids: readonly number[]): string {
    return JSON.stringify(ids);
  }

  toDbDate(date: Date): string {
    return date.toISOString().replace("T", " ").replace("Z", "");
  }

  fromDbDate(value: unknown): Date | null {
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value;
    const text = String(value);
    return new Date(/Z|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(" ", "T")}Z`);
  }

  fromDbBool(value: unknown): boolean {
    return value === true || value === 1 || value === "1";
  }

  isTransientError(error: unknown): boolean {
    if (error instanceof DatabaseBusyError) return true;
    const code = driverError(error).code;
    return typeof code === "string" && TRANSIENT_SQLITE_CODES.has(code);
  }

  async lockForMigrations(): Promise<void> {
    // Each migration runs in its own BEGIN IMMEDIATE transaction and re-checks
    // whether it was applied, which is all the locking a single file needs.
  }
}

function toSqliteParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace("T", " ").replace("Z", "");
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}
