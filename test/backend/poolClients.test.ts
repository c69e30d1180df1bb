import { DataSource } from "typeorm";
import { backendFor } from "../../src";
import { BACKENDS, dataSourceOptions, openTestDb } from "../helpers";

/**
 * A pg client checked out of TypeORM's pool has no `error` listener of the
 * pool's; one that reports an error when nobody listens (the server ended
 * it during a restart, after TypeORM's runner stopped listening) would be an
 * unhandled `error` event, which ends the process. hrp-cron's PostgreSQL
 * backend gives every client of the pool a listener of its own.
 */
(BACKENDS.includes("postgres") ? describe : describe.skip)("pool clients on postgres", () => {
  it("every connection of the pool listens for errors, also while checked out, so a late error cannot crash the worker", async () => {
    const db = await openTestDb("postgres");
    const ds = new DataSource(dataSourceOptions(db.location));
    await ds.initialize();
    try {
      backendFor(ds);
      const pool = (ds.driver as unknown as { master: { connect(): Promise<PgClient> } }).master;
      // One opened by initialize() (before the backend existed) and a new one, both checked out at once.
      const clients = [await pool.connect(), await pool.connect()];
      for (const client of clients) {
        expect(client.listenerCount("error")).toBeGreaterThanOrEqual(1);
        expect(() =>
          client.emit("error", new Error("terminating connection due to administrator command")),
        ).not.toThrow();
        client.release(new Error("discard"));
      }
    } finally {
      await ds.destroy();
      await db.close();
    }
  });
});

interface PgClient {
  listenerCount(event: string): number;
  emit(event: string, error: Error): boolean;
  release(error?: Error): void;
}
