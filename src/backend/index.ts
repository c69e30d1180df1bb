import type { DataSource } from "typeorm";
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
  if (!isDataSourceLike(dataSource)) {
    throw new ConfigError("expected a TypeORM DataSource (new DataSource({ type: \"better-sqlite3\" | \"postgres\", ... }))", {});
  }
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

function isDataSourceLike(value: unknown): value is DataSource {
  try {
    const options = (value as { options?: unknown } | null)?.options;
    return typeof value === "object" && value !== null && typeof options === "object" && options !== null;
  } catch {
    return false; // a proxy that throws, say
  }
}
