import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";
import { ENTITIES } from "../src/schema/entities";
import { backendFor, migrate, MIGRATIONS, type HrpCronMigration, type Logger } from "../src";
import { TestEffect } from "./fixtures/TestEffect";

export type BackendName = "sqlite" | "postgres";

/** SQLite always; PostgreSQL too when HRP_CRON_PG_URL is set (CI sets it). */
export const BACKENDS: BackendName[] = ["sqlite", ...(process.env.HRP_CRON_PG_URL ? (["postgres"] as const) : [])];

export const TEST_ENTITIES = [...ENTITIES, TestEffect];

/** One isolated database: a fresh SQLite file, or a fresh PostgreSQL schema. */
export interface TestDb {
  readonly kind: BackendName;
  readonly dataSource: DataSource;
  /** Options for another connection (another DataSource) to the same database. */
  readonly options: DataSourceOptions;
  /** Plain-language location, for child processes: a file path or `postgres-url#schema`. */
  readonly location: { sqliteFile?: string; pgUrl?: string; pgSchema?: string };
  close(): Promise<void>;
}

let counter = 0;

export function dataSourceOptions(location: TestDb["location"], extraEntities: Function[] = []): DataSourceOptions {
  const entities = [...TEST_ENTITIES, ...extraEntities];
  if (location.sqliteFile) {
    return { type: "better-sqlite3", database: location.sqliteFile, entities, enableWAL: true, timeout: 10_000 };
  }
  return {
    type: "postgres",
    url: location.pgUrl,
    schema: location.pgSchema,
    entities,
    poolSize: 5,
    extra: { options: `-c search_path=${location.pgSchema}` },
  };
}

/**
 * Creates an isolated database with the `test_effect` table, migrated with
 * `migrations` (all of them by default; fewer to build a database as an
 * older release left it).
 */
export async function openTestDb(
  kind: BackendName,
  extraEntities: Function[] = [],
  migrations: readonly HrpCronMigration[] = MIGRATIONS,
): Promise<TestDb> {
  const id = `${process.pid}_${Date.now().toString(36)}_${counter++}`;
  let location: TestDb["location"];
  let dir: string | undefined;
  if (kind === "sqlite") {
    dir = mkdtempSync(join(tmpdir(), "hrp-cron-test-"));
    location = { sqliteFile: join(dir, "test.sqlite") };
  } else {
    const pgUrl = process.env.HRP_CRON_PG_URL!;
    const schema = `t_${id}`;
    const admin = new DataSource({ type: "postgres", url: pgUrl });
    await admin.initialize();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.destroy();
    location = { pgUrl, pgSchema: schema };
  }
  const options = dataSourceOptions(location, extraEntities);
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  await migrate(dataSource, migrations);
  const backend = backendFor(dataSource);
  await backend.transaction((m) =>
    backend.execute(
      m,
      `CREATE TABLE test_effect (id ${backend.ddl.serialPrimaryKey}, effect_key varchar(128) NOT NULL UNIQUE, uid integer NOT NULL, note varchar(256))`,
    ),
  );
  return {
    kind,
    dataSource,
    options,
    location,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (location.pgSchema) {
        const admin = new DataSource({ type: "postgres", url: location.pgUrl });
        await admin.initialize();
        await admin.query(`DROP SCHEMA ${location.pgSchema} CASCADE`);
        await admin.destroy();
      }
    },
  };
}

/** A logger that keeps messages for assertions and prints nothing. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, context?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${context ? JSON.stringify(context) : ""}`);
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A settable clock for explicit-date tests. */
export function fixedClock(start: string | Date) {
  let current = new Date(start);
  const now = () => new Date(current.getTime());
  return {
    now,
    set(at: string | Date) {
      current = new Date(at);
    },
    advance(ms: number) {
      current = new Date(current.getTime() + ms);
    },
  };
}

/** Counts rows with raw SQL in a dialect-neutral way. */
export async function count(db: TestDb, table: string, where = "1 = 1", params: unknown[] = []): Promise<number> {
  const backend = backendFor(db.dataSource);
  const rows = await backend.query<{ n: unknown }>(
    db.dataSource.manager,
    `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`,
    params,
  );
  return Number(rows[0].n);
}

/**
 * Counts the rows the dispatcher claims matching `where` in both places they
 * live (migration 0014): recurring crons in `ir_cron`, one-shot jobs in
 * `hrp_cron_job`. The default counts the claims held now.
 */
export async function countClaims(db: TestDb, where = "running_worker IS NOT NULL", params: unknown[] = []) {
  return (await count(db, "ir_cron", where, params)) + (await count(db, "hrp_cron_job", where, params));
}
