import type { Logger } from "./types";

/**
 * How hrp-cron uses PostgreSQL connections: options of a DataSource's
 * backend, given once per DataSource (`backendFor(dataSource, options)`
 * before any other hrp-cron call on it, or `postgres` in the CLI config).
 * Ignored on SQLite.
 */
export interface PostgresOptions {
  /**
   * How the DataSource's connections reach PostgreSQL, in PgBouncer's terms.
   *
   * - `"session"`: a direct connection, or a pooler that gives each client
   *   connection a server session of its own for as long as it lasts
   *   (PgBouncer `pool_mode = session`). hrp-cron keeps its statements
   *   prepared per connection and LISTENs on a pooled connection.
   * - `"transaction"`: a pooler that may hand every transaction another
   *   server connection (PgBouncer or pgcat `pool_mode = transaction`,
   *   Supavisor in transaction mode). Session state does not
   *   survive a transaction there, so hrp-cron prepares no named
   *   statements, and LISTENs only on {@link listenUrl} (without it, other
   *   processes' work is found by polling every `pollIntervalMs`).
   *
   * Statement pooling (`pool_mode = statement`) is refused: hrp-cron needs
   * multi-statement transactions. In `"session"` mode a transaction pooler
   * is detected when PostgreSQL reports a lost or duplicate prepared
   * statement (SQLSTATE 26000 / 42P05): the backend then switches to
   * unnamed statements for good, logs a warning, and the failed transaction
   * is retried (`PreparedStatementLostError`, a transient error).
   * @defaultValue "session"
   */
  readonly poolMode?: "session" | "transaction";
  /**
   * A `postgres://` URL for one dedicated connection that LISTENs for
   * wake-ups (`NOTIFY hrp_cron_wakeup`), straight to the server rather than
   * through a transaction pooler. Without it the LISTEN connection comes
   * from the DataSource's pool, or, with `poolMode: "transaction"`, there is
   * none and workers of other processes poll. Put credentials and `sslmode`
   * in the URL. @defaultValue null
   */
  readonly listenUrl?: string | null;
  /** Where the backend reports a detected transaction pooler and LISTEN trouble. @defaultValue console, `warn` and above */
  readonly logger?: Logger;
}
