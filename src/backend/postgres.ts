import { QueryFailedError, type DataSource, type EntityManager, type QueryRunner, type TransactionCommitEvent, type TransactionRollbackEvent } from "typeorm";
import { JobScope } from "../jobScope";
import { timerDelayMs } from "../validate";
import type { Backend, JsonColumns, JsonColumnType, TransactionWork } from "./backend";
import type { Logger } from "../types";
import { affectedRows, driverError, encodeJsonRows, rawQuery } from "./common";
import { PgListener, WAKEUP_CHANNEL } from "./pgListener";

/** SQLSTATEs that mean "retry": serialization failure, deadlock, lock not available, shutdown, connection trouble. */
const TRANSIENT_PG_CODES = new Set(["40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
const TRANSIENT_NODE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/**
 * Advisory-lock key guarding migrations, so that many workers starting at
 * once migrate exactly once. The value spells "HRPC".
 */
export const MIGRATION_ADVISORY_LOCK_KEY = 0x48525043;

/** At most this many distinct statement texts are prepared per connection; later ones run unprepared. */
const MAX_PREPARED_STATEMENTS = 200;

/** Advisory-lock key serialising limit-aware claims ("HRPL"). */
export const LIMITS_ADVISORY_LOCK_KEY = 0x4852504c;

/**
 * PostgreSQL backend (`pg` driver): many workers on many machines share one
 * database. Each transaction uses its own pooled connection; due crons are
 * claimed with `FOR UPDATE SKIP LOCKED` so concurrent workers never wait on,
 * or take, each other's rows.
 */
export class PostgresBackend implements Backend {
  readonly dialect = "postgres" as const;
  readonly ddl = { serialPrimaryKey: "SERIAL PRIMARY KEY", timestamp: "timestamptz", provesPartialIndexes: true };
  readonly serialTransactions = false;
  readonly claimLockClause = "FOR UPDATE SKIP LOCKED";

  private readonly listener: PgListener;
  /** Query runners whose open transaction has already sent its NOTIFY. */
  private readonly announced = new WeakSet<QueryRunner>();
  private watching = false;
  /** Names of hrp-cron's prepared statements, by SQL text (the same on every connection). */
  private readonly statementNames = new Map<string, string>();

  constructor(private readonly dataSource: DataSource) {
    this.listener = new PgListener(dataSource);
  }

  async announceWork(manager: EntityManager): Promise<void> {
    // Delivered at commit, dropped on rollback; identical notifications in one transaction
    // fold into one, so a transaction that enqueues many jobs sends the NOTIFY only once.
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) {
      if (this.announced.has(runner)) return;
      this.watchTransactions();
      this.announced.add(runner);
    }
    await rawQuery(manager, `NOTIFY ${WAKEUP_CHANNEL}`, []);
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
    // One simple-protocol round trip; DEFAULT undoes an earlier job's limit for a job without one.
    return `SAVEPOINT ${name}; SET LOCAL statement_timeout = ${timeoutMs ? timerDelayMs(timeoutMs) : "DEFAULT"}`;
  }

  async lockForLimits(manager: EntityManager): Promise<void> {
    await rawQuery(manager, "SELECT pg_advisory_xact_lock($1)", [LIMITS_ADVISORY_LOCK_KEY]);
  }

  isUniqueViolation(error: unknown): boolean {
    return driverError(error).code === "23505";
  }

  listen(onWake: () => void, logger: Logger): Promise<() => Promise<void>> {
    return this.listener.subscribe(onWake, logger);
  }

  async transaction<T>(work: TransactionWork<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async inTransaction<T>(manager: EntityManager | undefined, work: TransactionWork<T>): Promise<T> {
    if (manager?.queryRunner?.isTransactionActive) return work(manager);
    return this.transaction(work);
  }

  async query<R>(manager: EntityManager, sql: string, params: unknown[] = []): Promise<R[]> {
    const prepared = await this.prepared(manager, sql, params);
    if (prepared) return prepared.rows as R[];
    const result = await rawQuery(manager, numberPlaceholders(sql), params);
    return (result.records ?? []) as R[];
  }

  async execute(manager: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
    const prepared = await this.prepared(manager, sql, params);
    if (prepared) return prepared.rowCount ?? 0;
    const result = await rawQuery(manager, numberPlaceholders(sql), params);
    return result.affected ?? affectedRows(result);
  }

  /**
   * Runs hrp-cron's own statement as a named prepared statement on the
   * transaction's connection: PostgreSQL parses and plans each text once
   * per connection instead of at every call (planning the claim's
   * recursive walk costs more than running it). Statements a job method
   * makes (inside its savepoint scope) and calls without a transaction go
   * through TypeORM as usual; returns null for those.
   */
  private async prepared(manager: EntityManager, sql: string, params: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null } | null> {
    const runner = manager.queryRunner as (QueryRunner & { databaseConnection?: PgClient }) | undefined;
    const client = runner?.databaseConnection;
    if (!runner?.isTransactionActive || !client || runner.isReleased || JobScope.activeFor(runner)) return null;
    let name = this.statementNames.get(sql);
    if (!name) {
      // Texts with variable-length lists (listing filters, key lists) must not fill every connection with statements.
      if (this.statementNames.size >= MAX_PREPARED_STATEMENTS) return null;
      name = `hrp_cron_${this.statementNames.size + 1}`;
      this.statementNames.set(sql, name);
    }
    try {
      return await client.query({ name, text: numberPlaceholders(sql), values: params });
    } catch (error) {
      throw new QueryFailedError(sql, params, error as Error);
    }
  }

  jsonTable(alias: string, columns: JsonColumns): string {
    const defs = Object.entries(columns).map(([name, type]) => `${name} ${PG_TYPES[type]}`);
    return `json_to_recordset(?::json) AS ${alias}(${defs.join(", ")})`;
  }

  jsonRows(columns: JsonColumns, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
    return encodeJsonRows(columns, rows, (d) => d.toISOString(), (b) => b);
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
    const { code, message } = driverError(error);
    if (typeof code === "string" && (TRANSIENT_PG_CODES.has(code) || TRANSIENT_NODE_CODES.has(code))) return true;
    // TypeORM releases a query runner whose connection died; later queries on it fail with this.
    if (error instanceof Error && /AlreadyReleasedError$/.test(error.name)) return true;
    return typeof message === "string" && /Connection terminated|connection timeout|Client has encountered a connection error|already released/i.test(message);
  }

  async withMigrationLock<T>(work: () => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_ADVISORY_LOCK_KEY]);
      try {
        return await work();
      } finally {
        await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_ADVISORY_LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  }
}

const PG_TYPES: Record<JsonColumnType, string> = { int: "integer", text: "text", timestamp: "timestamptz", bool: "boolean" };

/** The part of a `pg` client used for prepared statements. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Rewrites `?` placeholders as `$1, $2, ...` (our SQL has no `?` inside literals). */
function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
