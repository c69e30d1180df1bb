import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { DataSource, DataSourceOptions } from "typeorm";
import { ConfigError } from "../errors";
import type { Backend } from "./backend";
import { PostgresBackend } from "./postgres";
import { SqliteBackend } from "./sqlite";

export type { Backend, DdlVocabulary, JsonColumns, JsonColumnType, TransactionWork } from "./backend";
export { MIGRATION_ADVISORY_LOCK_KEY } from "./postgres";

const backends = new WeakMap<DataSource, Backend>();

/**
 * The backend for a DataSource, created once and shared by every hrp-cron
 * object using that DataSource (so SQLite's per-connection mutex is shared).
 * This is the only place that looks at the driver type.
 */
export function backendFor(dataSource: DataSource): Backend {
  let backend = backends.get(dataSource);
  if (!backend) {
    const type = dataSource.options.type;
    if (type === "better-sqlite3") backend = new SqliteBackend(dataSource);
    else if (type === "postgres") backend = new PostgresBackend(dataSource);
    else
      throw new ConfigError(
        `hrp-cron supports the "better-sqlite3" and "postgres" TypeORM drivers, not "${type}"; use one of those for the DataSource`,
        { type },
      );
    backends.set(dataSource, backend);
  }
  return backend;
}
export { hydrate } from "./common";

/**
 * The path of the embedded SQLite file `options` name when that file does
 * not exist (initializing such a DataSource would create it); null for an
 * existing file, `:memory:` and other databases.
 */
export function missingDatabaseFile(options: DataSourceOptions): string | null {
  if (options.type !== "better-sqlite3" || typeof options.database !== "string" || options.database === ":memory:") return null;
  return existsSync(options.database) ? null : resolve(options.database);
}
