import { DatabaseBusyError } from "../../core/errors";
import { driverError } from "../common";

/** The part of a better-sqlite3 `Database` this module uses. */
export interface NativeSqlite {
  readonly name: string;
  prepare(source: string): NativeStatement;
  exec(source: string): unknown;
}

/** The part of a better-sqlite3 `Statement` this module uses. */
interface NativeStatement {
  run(): unknown;
  get(): unknown;
  pluck(): NativeStatement;
}

/** First and largest pause between two attempts to take the write lock. */
const FIRST_PAUSE_MS = 1;
const MAX_PAUSE_MS = 20;

/**
 * Starts write transactions (`BEGIN IMMEDIATE`) on one connection without
 * blocking the event loop while another connection holds the write lock.
 *
 * better-sqlite3 is synchronous: SQLite's own busy handler sleeps inside the
 * call, so a BEGIN waiting for the lock froze the whole process for up to
 * the busy timeout — and when the lock's holder was another DataSource of
 * the same process (an application and an embedded worker on one file), it
 * could not even finish its transaction meanwhile. Here each attempt runs
 * with a busy timeout of 0 (restored right after, synchronously, so no other
 * statement sees it) and the waits between attempts are timers (1 ms,
 * doubling to 20 ms), so the lock's holder keeps running. The total wait is
 * the connection's own busy timeout (the DataSource's `timeout`), as before.
 * The PRAGMA statements are prepared once per connection (a BEGIN is on
 * the path of every job).
 */
export class ImmediateBegin {
  /** The connection the statements below were prepared on (a re-initialized DataSource has a new one). */
  private prepared: {
    readonly connection: NativeSqlite;
    readonly readTimeout: NativeStatement;
    readonly noTimeout: NativeStatement;
    /** `PRAGMA busy_timeout = n`, by n (the connection's own value: usually one). */
    readonly setTimeout: Map<number, NativeStatement>;
  } | null = null;

  constructor(private readonly connection: () => NativeSqlite) {}

  /** @throws DatabaseBusyError when the lock stayed taken for the busy timeout (transient: callers may retry) */
  async begin(): Promise<void> {
    const began = Date.now();
    const statements = this.statements();
    const busyTimeoutMs = Number(statements.readTimeout.get());
    for (let pauseMs = FIRST_PAUSE_MS; ; pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2)) {
      try {
        statements.noTimeout.run();
        try {
          statements.connection.exec("BEGIN IMMEDIATE");
        } finally {
          this.restore(busyTimeoutMs);
        }
        return;
      } catch (error) {
        if (!isBusy(error)) throw error;
        const waitedMs = Date.now() - began;
        if (waitedMs >= busyTimeoutMs) throw new DatabaseBusyError(statements.connection.name, waitedMs, error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, busyTimeoutMs - waitedMs)));
      }
    }
  }

  private statements() {
    const connection = this.connection();
    if (this.prepared?.connection !== connection) {
      this.prepared = {
        connection,
        readTimeout: connection.prepare("PRAGMA busy_timeout").pluck(),
        noTimeout: connection.prepare("PRAGMA busy_timeout = 0"),
        setTimeout: new Map(),
      };
    }
    return this.prepared;
  }

  private restore(busyTimeoutMs: number): void {
    const { connection, setTimeout: set } = this.statements();
    let statement = set.get(busyTimeoutMs);
    if (!statement) {
      statement = connection.prepare(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
      set.set(busyTimeoutMs, statement);
    }
    statement.run();
  }
}

function isBusy(error: unknown): boolean {
  const code = driverError(error).code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_RECOVERY" || code === "SQLITE_BUSY_SNAPSHOT";
}
