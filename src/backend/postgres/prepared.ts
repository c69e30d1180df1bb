import { createHash } from "node:crypto";
import { QueryFailedError, type EntityManager, type QueryRunner } from "typeorm";
import { PreparedStatementLostError } from "../../core/errors";
import type { Logger } from "../../core/types";
import { driverError } from "../common";

/** At most this many distinct statement texts are prepared per connection; later ones run unprepared. */
const MAX_PREPARED_STATEMENTS = 200;

/** SQLSTATEs of a prepared statement missing from (26000) or already on (42P05) the connection: a transaction pooler. */
const LOST_STATEMENT_CODES: ReadonlySet<string> = new Set(["26000", "42P05"]);

/** Marks (in `QueryRunner.data`) a runner of `Backend.autocommit`: hrp-cron's statements without a transaction. */
export const AUTOCOMMIT_RUNNER = "hrpCronAutocommit";

/**
 * hrp-cron's own statements on PostgreSQL, run as named prepared statements
 * per connection (see {@link run}) until a transaction pooler shows they
 * do not survive a transaction; then unnamed for good.
 */
export class PreparedStatements {
  /** Names of hrp-cron's prepared statements, by SQL text (the same on every connection). */
  private readonly statementNames = new Map<string, string>();
  /**
   * Whether hrp-cron's statements are prepared under a name: not with
   * `poolMode: "transaction"`, and no longer once a lost or duplicate
   * statement showed that connections go through such a pooler.
   */
  private namedStatements: boolean;

  constructor(
    named: boolean,
    private readonly logger: Logger,
    /** True while a job method's own code runs on `runner` (its statements are not hrp-cron's). */
    private readonly inJobScope: (runner: QueryRunner) => boolean,
  ) {
    this.namedStatements = named;
  }

  /**
   * Runs hrp-cron's own statement as a named prepared statement on the
   * transaction's connection: PostgreSQL parses and plans each text once
   * per connection instead of at every call (planning the claim's
   * recursive walk costs more than running it). Statements a job method
   * makes (inside its savepoint scope), calls without a transaction (but
   * those of `Backend.autocommit`, marked {@link AUTOCOMMIT_RUNNER}) and
   * every call once named statements are off go through TypeORM as usual
   * (unnamed); returns null for those.
   *
   * A statement's name is derived from its text, so one name means one
   * text on every connection, whichever process or DataSource prepared it.
   * Behind a pooler in transaction mode a statement prepared by one
   * transaction may be missing from the server connection the next one
   * gets (26000), or already be there (42P05): named statements are then
   * switched off for good and the aborted transaction is reported as a
   * transient {@link PreparedStatementLostError}, to be retried.
   */
  async run(
    manager: EntityManager,
    sql: string,
    params: unknown[],
  ): Promise<{ rows: unknown[]; rowCount: number | null } | null> {
    if (!this.namedStatements) return null;
    const runner = manager.queryRunner as (QueryRunner & { databaseConnection?: PgClient }) | undefined;
    const client = runner?.databaseConnection;
    const own = runner?.isTransactionActive || runner?.data?.[AUTOCOMMIT_RUNNER] === true;
    if (!own || !client || runner.isReleased || this.inJobScope(runner)) return null;
    let name = this.statementNames.get(sql);
    if (!name) {
      // Texts with variable-length lists (listing filters, key lists) must not fill every connection with statements.
      if (this.statementNames.size >= MAX_PREPARED_STATEMENTS) return null;
      name = `hrp_cron_${createHash("sha256").update(sql).digest("hex").slice(0, 32)}`;
      this.statementNames.set(sql, name);
    }
    try {
      return await client.query({ name, text: numberPlaceholders(sql), values: params });
    } catch (error) {
      const code = driverError(error).code;
      if (typeof code === "string" && LOST_STATEMENT_CODES.has(code)) throw this.statementLost(name, code, error);
      throw new QueryFailedError(sql, params, error as Error);
    }
  }

  /** Switches named statements off (once, with a warning) and returns the transient error to throw. */
  private statementLost(name: string, code: string, cause: unknown): PreparedStatementLostError {
    const error = new PreparedStatementLostError(name, code, { cause });
    if (this.namedStatements) {
      this.namedStatements = false;
      this.logger.warn(
        "transaction pooler detected: prepared statements do not survive a transaction on this DataSource; using unnamed statements from now on " +
          '(set poolMode: "transaction", and listenUrl for immediate wake-ups across processes: LISTEN does not work through such a pooler)',
        { statement: name, sqlState: code },
      );
    }
    return error;
  }
}

/** The part of a `pg` client used for prepared statements. */
interface PgClient {
  query(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Rewrites `?` placeholders as `$1, $2, ...` (our SQL has no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
