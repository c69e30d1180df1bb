import type { DataSource, EntityManager, QueryRunner } from "typeorm";
import { DatabaseBusyError } from "../../core/errors";
import type { Backend, CommitStatus, JsonColumns, TransactionWork } from "../backend";
import { BaseBackend } from "../base";
import { affectedRows, driverError, encodeJsonRows, rawQuery } from "../common";
import { Mutex } from "../mutex";
import type { QueryCall } from "../runnerGuard";
import { SharedRunner, type RunnerState, type RunScope } from "./sharedRunner";

const TRANSIENT_SQLITE_CODES: ReadonlySet<string> = new Set([
  "SQLITE_BUSY",
  "SQLITE_BUSY_SNAPSHOT",
  "SQLITE_BUSY_RECOVERY",
  "SQLITE_LOCKED",
]);

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
export class SqliteBackend extends BaseBackend implements Backend {
  readonly dialect = "sqlite" as const;
  readonly ddl = {
    serialPrimaryKey: "INTEGER PRIMARY KEY AUTOINCREMENT",
    timestamp: "datetime",
    provesPartialIndexes: false,
    msBetween: (start: string, end: string) =>
      `CAST(ROUND((julianday(${end}) - julianday(${start})) * 86400000) AS INTEGER)`,
  };
  readonly serialTransactions = true;
  readonly dataModifyingWith = false;
  readonly singleStatementClaims = false;
  readonly claimLockClause = "";
  private readonly mutex = new Mutex();
  /** The guard of each shared runner this DataSource has had (a new one after it is re-initialized). */
  private readonly shared = new WeakMap<QueryRunner, SharedRunner>();

  constructor(private readonly dataSource: DataSource) {
    super();
    // Guard the shared runner from the start, so application transactions behave the same before our first one.
    this.sharedRunner(dataSource.createQueryRunner() as RunnerState);
  }

  /** The guard of `runner`, installed (with the runner guard) the first time. */
  private sharedRunner(runner: RunnerState): SharedRunner {
    let shared = this.shared.get(runner);
    if (!shared) {
      shared = new SharedRunner(runner, this.dataSource);
      this.shared.set(runner, shared);
      this.guard.install(runner);
    }
    return shared;
  }

  protected override queryStep(runner: QueryRunner, args: unknown[], next: QueryCall): Promise<unknown> {
    const shared = this.shared.get(runner);
    return shared ? shared.query(args, next) : next(...args);
  }

  autocommit<T>(work: TransactionWork<T>): Promise<T> {
    return this.transaction(work);
  }

  async transaction<T>(work: TransactionWork<T>): Promise<T> {
    return this.mutex.run(async () => {
      const runner = this.dataSource.createQueryRunner() as RunnerState;
      const guard = this.sharedRunner(runner);
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
    return encodeJsonRows(
      columns,
      rows,
      (d) => this.toDbDate(d),
      (b) => (b ? 1 : 0),
    );
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
  jsonText(column: string): string {
    // json_extract gives SQL values (42, and 1 for true): booleans are named and the rest cast, as PostgreSQL's #>> reads them.
    return `CASE json_type(${column}, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(${column}, ?) AS TEXT) END`;
  }

  jsonPath(path: ReadonlyArray<string | number>): string[] {
    const text =
      "$" +
      path
        .map((p) => (typeof p === "number" ? (p < 0 ? `[#${p}]` : `[${p}]`) : `."${p.replace(/["\\]/g, "")}"`))
        .join("");
    return [text, text];
  }

  timeBucket(column: string): string {
    // Whole milliseconds first (julianday is a double), then integer division.
    return `(CAST(ROUND((julianday(${column}) - julianday(?)) * 86400000) AS INTEGER) / CAST(? AS INTEGER))`;
  }

  timeBucketParams(origin: Date, periodMs: number): unknown[] {
    return [this.toDbDate(origin), periodMs];
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
