import type { EntityManager, QueryRunner } from "typeorm";
import type { JobScope } from "./jobScope";
import type { Logger } from "../core/types";
import type { WorkBand } from "./processLocal";

/** SQL vocabulary for the DDL that differs between databases. */
export interface DdlVocabulary {
  /** Auto-increment integer primary key column definition. */
  readonly serialPrimaryKey: string;
  /** Column type for instants. */
  readonly timestamp: string;
  /**
   * True when the planner uses a partial index for `column = value`
   * whenever the value satisfies the index's predicate (PostgreSQL proves
   * it). SQLite uses a partial index only when the query repeats its
   * predicate, so indexes that plain queries need stay whole there.
   */
  readonly provesPartialIndexes: boolean;
  /** SQL for the whole milliseconds from instant `start` to instant `end` (two column expressions), as an integer. */
  msBetween(start: string, end: string): string;
}

/** Column types a {@link Backend.jsonTable} can carry. */
export type JsonColumnType = "int" | "text" | "timestamp" | "bool";

/** Columns of a {@link Backend.jsonTable}, by name. */
export type JsonColumns = Readonly<Record<string, JsonColumnType>>;

/** What the engine runs on top of a backend's transaction. */
export type TransactionWork<T> = (manager: EntityManager) => Promise<T>;

/** Names a transaction, so its outcome can be asked for after the reply to its COMMIT was lost. */
export interface CommitTicket {
  /** The server's id of the transaction (PostgreSQL `txid_current()`), as text. */
  readonly transactionId: string;
  /** The server process that ran it (PostgreSQL `pg_backend_pid()`), or null. */
  readonly serverPid: number | null;
}

/** What the database says about an interrupted commit; `"unknown"`: it cannot tell (too old, or not asked). */
export type CommitStatus = "committed" | "aborted" | "in progress" | "unknown";

/**
 * Thrown by {@link Backend.trackedTransaction} when the connection failed
 * while the COMMIT was on its way: the server may or may not have
 * committed. Carries what `work` returned and the ticket to ask
 * {@link Backend.commitStatus} with. Internal: `commitOnce` turns it into
 * a result, a retry or a `CommitOutcomeUnknownError`.
 */
export class CommitInterrupted extends Error {
  constructor(
    readonly ticket: CommitTicket,
    readonly value: unknown,
    cause: unknown,
  ) {
    super(`the connection failed during COMMIT of transaction ${ticket.transactionId}`, { cause });
  }
}

/**
 * The seam between the engine and a database. Every difference between
 * SQLite and PostgreSQL lives in an implementation of this interface; the
 * rest of hrp-cron never looks at the driver type.
 */
export interface Backend {
  /** `"sqlite"` or `"postgres"`, for messages and DDL only. */
  readonly dialect: "sqlite" | "postgres";
  readonly ddl: DdlVocabulary;
  /**
   * Row-locking suffix for the claim sub-select: `FOR UPDATE SKIP LOCKED` on
   * PostgreSQL; empty on SQLite, where the write transaction itself is the lock.
   */
  readonly claimLockClause: string;
  /**
   * True when this process's transactions on the database run one at a time
   * (SQLite: one shared connection). The dispatcher then fills each batch
   * instead of spreading work over slots that would only queue behind it.
   */
  readonly serialTransactions: boolean;
  /**
   * True when one statement can write several tables (PostgreSQL's
   * data-modifying `WITH ... AS (INSERT ...)`), so related rows cost one
   * round trip; SQLite has no such statement, and no round trips to save.
   */
  readonly dataModifyingWith: boolean;
  /**
   * True when a claim that is one statement is better run on its own,
   * committing as it runs ({@link autocommit}), than inside BEGIN ...
   * COMMIT: on PostgreSQL that saves two round trips between a job's
   * enqueue and its start. False on SQLite, where a transaction costs no
   * round trip.
   */
  readonly singleStatementClaims: boolean;

  /**
   * Runs `work` in one database transaction and commits it, or rolls it back
   * when `work` throws. On SQLite the transaction takes the write lock up
   * front (`BEGIN IMMEDIATE`) and transactions of one process are serialised,
   * because TypeORM shares a single connection there.
   */
  transaction<T>(work: TransactionWork<T>): Promise<T>;

  /**
   * Runs `work` on one connection outside any transaction: each of its
   * statements commits on its own (a single-statement claim, see
   * {@link singleStatementClaims}). A connection lost while a statement
   * runs leaves its outcome unknown; claims recover from that (`OwnClaims`).
   * SQLite: the same as {@link transaction}.
   */
  autocommit<T>(work: TransactionWork<T>): Promise<T>;

  /**
   * Like {@link transaction}, for writes that must happen exactly once
   * (`commitOnce`): when the connection fails while the COMMIT is on its
   * way, so that the server may have committed, it rejects with
   * {@link CommitInterrupted} (carrying `work`'s value) instead of the
   * driver's error. PostgreSQL learns the transaction id in the round trip
   * that begins the transaction (`START TRANSACTION; SELECT
   * txid_current()`), so this costs no extra round trip (one when the
   * DataSource sets an `isolationLevel`). SQLite never rejects with it: its
   * COMMIT is a call into the library in this process, not a message to a
   * server, and returns only once the commit is durable or has failed (and
   * then nothing was written) — there is no reply to lose.
   */
  trackedTransaction<T>(work: TransactionWork<T>): Promise<T>;

  /**
   * Whether the transaction of `ticket` committed, asked on another
   * connection after its COMMIT's reply was lost. PostgreSQL:
   * `txid_status()`. A transaction still `"in progress"` belongs to a server
   * process that has not yet noticed its client is gone; that process is
   * ended (`pg_terminate_backend`, only while it still runs that
   * transaction; a COMMIT it already received completes first) so the next
   * question gets a final answer. SQLite: `"unknown"` (never asked).
   */
  commitStatus(ticket: CommitTicket): Promise<CommitStatus>;

  /**
   * Like {@link transaction} but joins `manager`'s transaction when one is
   * given and active (the caller's business transaction).
   */
  inTransaction<T>(manager: EntityManager | undefined, work: TransactionWork<T>): Promise<T>;

  /**
   * One job of a batch in its own savepoint `name` on `runner` (the batch
   * transaction's), opened lazily by the job's first query; see `JobScope`.
   * `timeoutMs` bounds each of the job's statements where the dialect can
   * ({@link savepointSql}). `position` is the job's place in its batch (1
   * for the first): PostgreSQL keeps the savepoints of a batch's first
   * 64 jobs (`UNRELEASED_SAVEPOINTS`) open instead of releasing each (no
   * round trip when the transaction status shows the job left it intact);
   * later jobs release theirs, so no transaction nests deeper than that.
   */
  jobScope(runner: QueryRunner, name: string, timeoutMs: number | null, position: number): JobScope;

  /** Runs raw SQL written with `?` placeholders; returns the rows. */
  query<R = Record<string, unknown>>(manager: EntityManager, sql: string, params?: unknown[]): Promise<R[]>;

  /** Runs a raw statement written with `?` placeholders; returns the affected row count. */
  execute(manager: EntityManager, sql: string, params?: unknown[]): Promise<number>;

  /**
   * A FROM-clause source reading rows passed as ONE parameter (one `?`,
   * filled by {@link jsonRows}) as table `alias` with `columns`:
   * `UPDATE t SET x = v.x FROM ${jsonTable("v", { id: "int", x: "text" })} WHERE t.id = v.id`.
   * Bulk writes of any number of rows then cost one round trip and keep one
   * statement text (so prepared-statement caches hit). PostgreSQL:
   * `json_to_recordset`; SQLite: `json_each`.
   */
  jsonTable(alias: string, columns: JsonColumns): string;
  /** The parameter of a {@link jsonTable}: `rows` as JSON text, dates and booleans in this database's format. */
  jsonRows(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string;
  /**
   * For a bulk `UPDATE table SET x = alias.x ...`: `FROM <rows> AS alias
   * WHERE table.id = alias.id` (append `AND ...`), planned as one primary-key
   * lookup per row on both databases (PostgreSQL also gets the ids as an
   * array, so stale statistics cannot make it scan the table). `columns`
   * must include `id`; bind {@link updateFromParams} in its place.
   */
  updateFrom(table: string, alias: string, columns: JsonColumns): string;
  /** The parameters of an {@link updateFrom}. */
  updateFromParams(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): unknown[];

  /**
   * A predicate "`column` is one of the ids bound to its one `?`" (filled
   * by {@link idList}) that both databases answer with index lookups, even
   * with stale statistics: PostgreSQL `= ANY(?::int[])`, SQLite `IN (json_each(?))`.
   */
  idIn(column: string): string;
  /** The parameter of {@link idIn}. */
  idList(ids: readonly number[]): unknown;

  /**
   * The value at a path inside the JSON text of `column`, as text alike on
   * both databases (a string's content, a number's digits, `true`/`false`,
   * an object or array as JSON; `NULL` when the path is missing), with the
   * path bound to its `?`s (filled by {@link jsonPath}). PostgreSQL:
   * `column::jsonb #>> ?::text[]`; SQLite: `json_extract`. Negative array
   * indexes count from the end.
   */
  jsonText(column: string): string;
  /** The parameters of {@link jsonText}: object keys and array indexes, outermost first. */
  jsonPath(path: ReadonlyArray<string | number>): unknown[];

  /**
   * The time bucket an instant falls in, for counts over time (the
   * dashboard's throughput chart): SQL for the whole number of periods of a
   * bound length between a bound origin and instant `column`, as an integer
   * (0 for the period starting at the origin), its `?`s filled by
   * {@link timeBucketParams}. Meant for instants at or after the origin
   * (select them with `column >= origin`): before it, SQLite truncates
   * towards zero. Both databases round to whole milliseconds first, so an
   * instant exactly on a boundary opens the next period.
   * PostgreSQL: `EXTRACT(EPOCH ...)`; SQLite: `julianday`.
   */
  timeBucket(column: string): string;
  /** The parameters of {@link timeBucket}: the first period's start and the period's length (ms, a positive integer). */
  timeBucketParams(origin: Date, periodMs: number): unknown[];

  /** A `Date` as a bind parameter for raw SQL. */
  toDbDate(date: Date): unknown;
  /** A date read by raw SQL back into a `Date`. */
  fromDbDate(value: unknown): Date | null;
  /** A boolean read by raw SQL back into a boolean. */
  fromDbBool(value: unknown): boolean;

  /**
   * True for errors that say "try again" rather than "the job is wrong":
   * SQLite busy/locked, PostgreSQL serialization failures, deadlocks and
   * dropped connections.
   */
  isTransientError(error: unknown): boolean;

  /**
   * Announces, inside `manager`'s transaction, that work may be due (in
   * `bands`, when given: see `WorkBand`), so workers in other processes wake
   * up when (and only if) it commits: `NOTIFY` on PostgreSQL; nothing on
   * SQLite (in-process wake-up and polling cover it).
   */
  announceWork(manager: EntityManager, bands?: readonly WorkBand[] | null): Promise<void>;

  /**
   * Calls `onWake` when another process announces work (with the bands it
   * named, null: anywhere); resolves with the
   * unsubscribe function. PostgreSQL: a shared `LISTEN` connection that
   * reconnects by itself (on `listenUrl` when given; none behind a
   * transaction pooler without it). SQLite: never calls.
   */
  listen(onWake: (bands: readonly WorkBand[] | null) => void, logger: Logger): Promise<() => Promise<void>>;

  /**
   * The SQL that opens a job's savepoint `name`. With `timeoutMs`, any
   * single statement of the job fails after that long (PostgreSQL: `SET
   * LOCAL statement_timeout` in the same round trip, undone with the
   * savepoint), so a timed-out job cannot keep a query running; SQLite's
   * statements are synchronous and short, so it only opens the savepoint.
   */
  savepointSql(name: string, timeoutMs: number | null): string;

  /**
   * Serialises claims that must respect concurrency limits (per queue, per
   * key) across all workers: a transaction-scoped advisory lock on
   * PostgreSQL; nothing on SQLite, whose write transaction is exclusive.
   */
  lockForLimits(manager: EntityManager): Promise<void>;

  /** True for a unique-constraint violation (deduplication races). */
  isUniqueViolation(error: unknown): boolean;

  /**
   * Takes the database-wide migration lock for the rest of `manager`'s
   * transaction, so concurrent migrators apply each migration once: a
   * transaction-scoped advisory lock on PostgreSQL (it holds behind a pooler
   * in transaction mode, where a session lock would stay on whatever server
   * connection the pooler picked); nothing on SQLite, whose write
   * transaction is exclusive.
   */
  lockForMigrations(manager: EntityManager): Promise<void>;
}
