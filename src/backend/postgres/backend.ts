import {
  QueryFailedError,
  type DataSource,
  type EntityManager,
  type QueryRunner,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from "typeorm";
import { PreparedStatementLostError } from "../../core/errors";
import type { ResolvedPostgresOptions } from "../../core/resolveOptions";
import {
  CommitInterrupted,
  type Backend,
  type CommitStatus,
  type CommitTicket,
  type JsonColumns,
  type JsonColumnType,
  type TransactionWork,
} from "../backend";
import type { Logger } from "../../core/types";
import { BaseBackend } from "../base";
import { affectedRows, driverError, encodeJsonRows, rawQuery } from "../common";
import { PgListener, WAKEUP_CHANNEL, wakeupPayload } from "./listener";
import type { WorkBand } from "../processLocal";
import { AUTOCOMMIT_RUNNER, numberPlaceholders, PreparedStatements } from "./prepared";
import { postgresSavepoint } from "./savepoints";

/** SQLSTATEs that mean "retry": serialization failure, deadlock, lock not available, shutdown, connection trouble. */
const TRANSIENT_PG_CODES: ReadonlySet<string> = new Set([
  "40001",
  "40P01",
  "55P03",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08003",
  "08006",
  "08001",
  "08004",
]);
const TRANSIENT_NODE_CODES: ReadonlySet<string> = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/**
 * Advisory-lock key guarding migrations, so that many workers starting at
 * once migrate exactly once. Taken transaction-scoped
 * (`pg_advisory_xact_lock`) by each migration's transaction, so it also
 * holds behind a pooler in transaction mode. The value spells "HRPC".
 */
export const MIGRATION_ADVISORY_LOCK_KEY = 0x48525043;

/** Advisory-lock key serialising limit-aware claims ("HRPL"). */
export const LIMITS_ADVISORY_LOCK_KEY = 0x4852504c;

/**
 * PostgreSQL backend (`pg` driver): many workers on many machines share one
 * database. Each transaction uses its own pooled connection; due crons are
 * claimed with `FOR UPDATE SKIP LOCKED` so concurrent workers never wait on,
 * or take, each other's rows.
 */
export class PostgresBackend extends BaseBackend implements Backend {
  readonly dialect = "postgres" as const;
  readonly ddl = {
    serialPrimaryKey: "SERIAL PRIMARY KEY",
    timestamp: "timestamptz",
    provesPartialIndexes: true,
    msBetween: (start: string, end: string) => `CAST(ROUND(EXTRACT(EPOCH FROM (${end} - ${start})) * 1000) AS integer)`,
  };
  readonly serialTransactions = false;
  readonly dataModifyingWith = true;
  readonly singleStatementClaims = true;
  readonly claimLockClause = "FOR UPDATE SKIP LOCKED";

  private readonly listener: PgListener;
  /** hrp-cron's own statements, prepared under a name per connection while that works. */
  private readonly statements: PreparedStatements;
  /** Query runners whose open transaction has already sent a NOTIFY, with the payloads it sent. */
  private readonly announced = new WeakMap<QueryRunner, Set<string>>();
  private watching = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: ResolvedPostgresOptions,
  ) {
    super();
    this.listener = new PgListener(dataSource, options);
    this.statements = new PreparedStatements(options.poolMode === "session", options.logger, (runner) =>
      this.guard.inScope(runner),
    );
    guardPoolClients(dataSource, options.logger);
  }

  async announceWork(manager: EntityManager, bands: readonly WorkBand[] | null = null): Promise<void> {
    // Delivered at commit, dropped on rollback; notifications of the same bands in one transaction
    // fold into one (the first one's user hints stand), so a transaction that enqueues many jobs of
    // one band sends the NOTIFY only once.
    const payload = wakeupPayload(bands, this.listener.sender);
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) {
      const key = wakeupPayload(bands && bands.map(({ users: _, ...band }) => band), this.listener.sender);
      const sent = this.announced.get(runner) ?? new Set<string>();
      if (sent.has(key)) return;
      this.watchTransactions();
      sent.add(key);
      this.announced.set(runner, sent);
    }
    await rawQuery(manager, `SELECT pg_notify($1, $2)`, [WAKEUP_CHANNEL, payload]);
  }

  /**
   * Forgets a transaction's NOTIFY when it ends: at the outermost commit, and
   * at any rollback (a rolled-back savepoint drops the NOTIFY made inside it).
   * A job rolled back to its batch savepoint raises no event; a later job of
   * that batch may then skip its NOTIFY, and other processes find its work
   * at their next poll (this process is woken in-process anyway).
   */
  private watchTransactions(): void {
    if (this.watching) return;
    this.watching = true;
    this.dataSource.subscribers.push({
      afterTransactionCommit: (event: TransactionCommitEvent) => {
        if (!event.queryRunner.isTransactionActive) this.announced.delete(event.queryRunner);
      },
      afterTransactionRollback: (event: TransactionRollbackEvent) => void this.announced.delete(event.queryRunner),
    });
  }

  savepointSql(name: string, timeoutMs: number | null): string {
    return postgresSavepoint(name, timeoutMs, 1).open;
  }

  protected override savepointStatements(name: string, timeoutMs: number | null, position: number) {
    return postgresSavepoint(name, timeoutMs, position);
  }

  async lockForLimits(manager: EntityManager): Promise<void> {
    await rawQuery(manager, "SELECT pg_advisory_xact_lock($1)", [LIMITS_ADVISORY_LOCK_KEY]);
  }

  isUniqueViolation(error: unknown): boolean {
    return driverError(error).code === "23505";
  }

  listen(onWake: (bands: readonly WorkBand[] | null) => void, logger: Logger): Promise<() => Promise<void>> {
    return this.listener.subscribe(onWake, logger);
  }

  async transaction<T>(work: TransactionWork<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async autocommit<T>(work: TransactionWork<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      runner.data = { ...runner.data, [AUTOCOMMIT_RUNNER]: true }; // hrp-cron's statements stay prepared
      return await work(runner.manager);
    } finally {
      await runner.release();
    }
  }

  async trackedTransaction<T>(work: TransactionWork<T>): Promise<T> {
    // TypeORM's own start/commit, so its transaction events (in-process wake-ups) still fire.
    const runner = this.dataSource.createQueryRunner();
    try {
      const ticket = await this.beginTracked(runner);
      let value: T;
      try {
        value = await work(runner.manager);
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
      try {
        await runner.commitTransaction();
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        // A server that answered refused the commit (nothing written); no answer leaves it open.
        if (this.isTransientError(error)) throw new CommitInterrupted(ticket, value, error);
        throw error;
      }
      return value;
    } finally {
      await runner.release();
    }
  }

  /**
   * Starts `runner`'s transaction and learns its id and server process in
   * the same round trip: TypeORM's `START TRANSACTION` is sent as `START
   * TRANSACTION; SELECT txid_current(), pg_backend_pid()` (one simple-query
   * message). Assigning the id up front costs nothing for a transaction
   * that writes anyway. With an `isolationLevel`, TypeORM's `SET
   * TRANSACTION` must come first, so the id is asked separately.
   */
  private async beginTracked(runner: QueryRunner): Promise<CommitTicket> {
    const client = (await runner.connect()) as PgTextClient;
    if ((this.dataSource.options as { isolationLevel?: string }).isolationLevel) {
      await runner.startTransaction();
      return ticketOf((await runner.query(TICKET_SQL))[0]);
    }
    let ticket: CommitTicket | null = null;
    const inherited = runner.query;
    const own = runner as { query: (sql: string, ...rest: unknown[]) => Promise<unknown> };
    own.query = async (sql: string, ...rest: unknown[]) => {
      if (sql !== "START TRANSACTION")
        return (inherited as (...a: unknown[]) => Promise<unknown>).call(runner, sql, ...rest);
      try {
        const results = await client.query(`START TRANSACTION; ${TICKET_SQL}`);
        ticket = ticketOf((Array.isArray(results) ? results[1] : results).rows[0]);
      } catch (error) {
        throw new QueryFailedError(sql, [], error as Error);
      }
      return undefined;
    };
    try {
      await runner.startTransaction();
    } finally {
      delete (own as Partial<typeof own>).query;
    }
    return ticket!;
  }

  async commitStatus(ticket: CommitTicket): Promise<CommitStatus> {
    const [row] = await this.dataSource.query(`SELECT txid_status($1::bigint) AS status`, [ticket.transactionId]);
    const status = (row as { status?: string | null } | undefined)?.status ?? null;
    if (status === "committed" || status === "aborted") return status;
    if (status !== "in progress") return "unknown";
    if (ticket.serverPid !== null) {
      // Only while that process still runs this very transaction (its 32-bit xid), so a reused pid is never hit.
      await this.dataSource.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_xid::text = ($2::bigint % 4294967296)::text`,
        [ticket.serverPid, ticket.transactionId],
      );
    }
    return "in progress";
  }

  async query<R>(manager: EntityManager, sql: string, params: unknown[] = []): Promise<R[]> {
    const prepared = await this.statements.run(manager, sql, params);
    if (prepared) return prepared.rows as R[];
    const result = await rawQuery(manager, numberPlaceholders(sql), params);
    return (result.records ?? []) as R[];
  }

  async execute(manager: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
    const prepared = await this.statements.run(manager, sql, params);
    if (prepared) return prepared.rowCount ?? 0;
    const result = await rawQuery(manager, numberPlaceholders(sql), params);
    return result.affected ?? affectedRows(result);
  }

  jsonTable(alias: string, columns: JsonColumns): string {
    const defs = Object.entries(columns).map(([name, type]) => `${name} ${PG_TYPES[type]}`);
    return `json_to_recordset(?::json) AS ${alias}(${defs.join(", ")})`;
  }

  jsonRows(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
    return encodeJsonRows(
      columns,
      rows,
      (d) => d.toISOString(),
      (b) => b,
    );
  }

  updateFrom(table: string, alias: string, columns: JsonColumns): string {
    return `FROM ${this.jsonTable(alias, columns)} WHERE ${table}.id = ${alias}.id AND ${this.idIn(`${table}.id`)}`;
  }

  updateFromParams(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): unknown[] {
    return [this.jsonRows(columns, rows), this.idList(rows.map((r) => Number(r.id)))];
  }

  idIn(column: string): string {
    return `${column} = ANY(?::int[])`;
  }

  idList(ids: readonly number[]): number[] {
    return [...ids];
  }
  jsonText(column: string): string {
    // hrp-cron writes only JSON text to the columns it reads so (args, result).
    return `(${column}::jsonb #>> ?::text[])`;
  }

  jsonPath(path: ReadonlyArray<string | number>): unknown[] {
    return [path.map(String)];
  }

  timeBucket(column: string): string {
    return `CAST(FLOOR(ROUND(EXTRACT(EPOCH FROM (${column} - CAST(? AS timestamptz))) * 1000) / CAST(? AS bigint)) AS bigint)`;
  }

  timeBucketParams(origin: Date, periodMs: number): unknown[] {
    return [origin, periodMs];
  }

  toDbDate(date: Date): Date {
    return date;
  }

  fromDbDate(value: unknown): Date | null {
    if (value === null || value === undefined) return null;
    return value instanceof Date ? value : new Date(String(value));
  }

  fromDbBool(value: unknown): boolean {
    return value === true || value === "t" || value === 1;
  }

  isTransientError(error: unknown): boolean {
    if (error instanceof PreparedStatementLostError) return true; // aborted; the retry runs unnamed
    const { code, message } = driverError(error);
    if (typeof code === "string" && (TRANSIENT_PG_CODES.has(code) || TRANSIENT_NODE_CODES.has(code))) return true;
    // TypeORM releases a query runner whose connection died; later queries on it fail with this.
    if (error instanceof Error && /AlreadyReleasedError$/.test(error.name)) return true;
    return (
      typeof message === "string" &&
      /Connection terminated|connection timeout|Client has encountered a connection error|already released/i.test(
        message,
      )
    );
  }

  async lockForMigrations(manager: EntityManager): Promise<void> {
    // Transaction-scoped: a session lock would stay with whatever server connection a pooler gave the statement.
    await rawQuery(manager, "SELECT pg_advisory_xact_lock($1)", [MIGRATION_ADVISORY_LOCK_KEY]);
  }
}

const PG_TYPES: Record<JsonColumnType, string> = {
  int: "integer",
  text: "text",
  timestamp: "timestamptz",
  bool: "boolean",
};

/** The id and server process of the current transaction (see `beginTracked`). */
const TICKET_SQL = "SELECT txid_current()::text AS txid, pg_backend_pid() AS pid";

function ticketOf(row: { txid?: unknown; pid?: unknown } | undefined): CommitTicket {
  return {
    transactionId: String(row?.txid),
    serverPid: row?.pid === undefined || row.pid === null ? null : Number(row.pid),
  };
}

/** The part of a `pg` client used for a multi-statement simple query. */
interface PgTextClient {
  query(
    text: string,
  ): Promise<{ rows: Array<Record<string, unknown>> } | Array<{ rows: Array<Record<string, unknown>> }>>;
}

/**
 * Gives every connection TypeORM's pool opens from now on an `error`
 * listener of its own (logged at debug). When the server ends connections
 * (a restart, `pg_terminate_backend`), a checked-out client may report the
 * end twice: TypeORM's runner releases it on the first error and stops
 * listening, and a second error on the now listener-less client would be an
 * unhandled `error` event — a crashed worker process. The pool and TypeORM
 * still see every error through their own listeners.
 */
function guardPoolClients(dataSource: DataSource, logger: Logger): void {
  const pool = (dataSource.driver as unknown as { master?: PoolEvents }).master;
  if (!pool) return;
  const guard = (client: PoolClient) =>
    client.on("error", (error: Error) =>
      logger.debug("a database connection reported an error after it was released", { error: String(error) }),
    );
  pool.on("connect", guard);
  // Connections opened before (by initialize()): pg-pool's list of its clients, where it has one.
  if (Array.isArray(pool._clients)) for (const client of pool._clients as PoolClient[]) guard(client);
}

interface PoolClient {
  on(event: "error", listener: (error: Error) => void): void;
}

/** The part of a `pg` pool this module listens to (`_clients`: pg-pool's own list, read when present). */
interface PoolEvents {
  on(event: "connect", listener: (client: PoolClient) => void): void;
  readonly _clients?: unknown;
}
