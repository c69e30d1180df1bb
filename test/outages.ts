import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";
import { backendFor, migrate } from "../src";
import { dataSourceOptions, type TestDb } from "./helpers";
import { ownPgServerAvailable, type OwnPgServer } from "./pgServer";

export type OutageKind = "sqlite" | "postgres";

/** SQLite always; PostgreSQL wherever the test can run a server of its own (its binaries are installed). */
export const OUTAGE_KINDS: OutageKind[] = ["sqlite", ...(ownPgServerAvailable() ? (["postgres"] as const) : [])];

/**
 * A database a test can take away and give back. PostgreSQL: a database on
 * the test's own server, which is stopped (`-m fast` or `-m immediate`) and
 * started again. SQLite: a file whose write lock another connection holds
 * meanwhile (every hrp-cron transaction writes, so all of them fail busy);
 * its clients get a short busy timeout, because better-sqlite3 waits
 * synchronously and the test's timers must keep running.
 */
export interface OutageDb {
  readonly kind: OutageKind;
  readonly location: TestDb["location"];
  /** Options for a client connection (a worker's, an application's). */
  options(): DataSourceOptions;
  /** A connection for the test's own reads (counts); on PostgreSQL only usable while the server is up. */
  readonly admin: DataSource;
  down(mode?: "fast" | "immediate"): Promise<void>;
  up(): Promise<void>;
  /** down, `downMs`, up. */
  restart(mode: "fast" | "immediate", downMs: number): Promise<void>;
  count(table: string, where?: string): Promise<number>;
  close(): Promise<void>;
}

let counter = 0;

/** A fresh migrated database with the `test_effect` table: a file, or a new database on `server`. */
export async function openOutageDb(kind: OutageKind, server?: OwnPgServer): Promise<OutageDb> {
  let location: TestDb["location"];
  let dir: string | null = null;
  if (kind === "postgres") {
    if (!server) throw new Error("a PostgreSQL outage needs the test's own server");
    const name = `outage_${process.pid}_${counter++}`;
    const root = new DataSource({ type: "postgres", url: server.url });
    await root.initialize();
    await root.query(`CREATE DATABASE ${name}`);
    await root.destroy();
    location = { pgUrl: server.url.replace(/\/postgres$/, `/${name}`), pgSchema: "public" };
  } else {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-outage-"));
    location = { sqliteFile: join(dir, "outage.sqlite") };
  }
  const options = (): DataSourceOptions =>
    kind === "sqlite"
      ? ({ ...dataSourceOptions(location), timeout: 20 } as DataSourceOptions)
      : dataSourceOptions(location);
  const admin = new DataSource(dataSourceOptions(location));
  await admin.initialize();
  await migrate(admin);
  const backend = backendFor(admin);
  await backend.transaction((m) =>
    backend.execute(
      m,
      `CREATE TABLE test_effect (id ${backend.ddl.serialPrimaryKey}, effect_key varchar(128) NOT NULL UNIQUE, uid integer NOT NULL, note varchar(256))`,
    ),
  );
  let holder: Database.Database | null = null;
  const down = async (mode: "fast" | "immediate" = "fast") => {
    if (server) return server.stop(mode);
    holder = new Database(location.sqliteFile!, { timeout: 0 });
    // Asynchronously: a writer in this process must get to finish its transaction first.
    for (;;) {
      try {
        return void holder.exec("BEGIN IMMEDIATE");
      } catch (error) {
        if ((error as { code?: string }).code !== "SQLITE_BUSY") throw error;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  const up = async () => {
    if (server) return server.start();
    holder?.exec("ROLLBACK");
    holder?.close();
    holder = null;
  };
  return {
    kind,
    location,
    options,
    admin,
    down,
    up,
    async restart(mode, downMs) {
      await down(mode);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await up();
    },
    async count(table, where = "1 = 1") {
      const rows = await backend.query<{ n: unknown }>(
        admin.manager,
        `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`,
      );
      return Number(rows[0].n);
    },
    async close() {
      holder?.close();
      if (admin.isInitialized) await admin.destroy().catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
