import { DatabaseBusyError } from "../../core/errors";
import { driverError } from "../common";

/** The part of a better-sqlite3 `Database` this module uses. */
export interface NativeSqlite {
  readonly name: string;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
}

/** First and largest pause between two attempts to take the write lock. */
const FIRST_PAUSE_MS = 1;
const MAX_PAUSE_MS = 20;

/**
 * Starts a write transaction (`BEGIN IMMEDIATE`) on `connection` without
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
 *
 * @throws DatabaseBusyError when the lock stayed taken for that long (transient: callers may retry)
 */
export async function beginImmediate(connection: NativeSqlite): Promise<void> {
  const began = Date.now();
  const busyTimeoutMs = Number(connection.pragma("busy_timeout", { simple: true }));
  for (let pauseMs = FIRST_PAUSE_MS; ; pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2)) {
    try {
      connection.pragma("busy_timeout = 0");
      try {
        connection.exec("BEGIN IMMEDIATE");
      } finally {
        connection.pragma(`busy_timeout = ${busyTimeoutMs}`);
      }
      return;
    } catch (error) {
      if (!isBusy(error)) throw error;
      const waitedMs = Date.now() - began;
      if (waitedMs >= busyTimeoutMs) throw new DatabaseBusyError(connection.name, waitedMs, error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, busyTimeoutMs - waitedMs)));
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = driverError(error).code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_RECOVERY" || code === "SQLITE_BUSY_SNAPSHOT";
}
