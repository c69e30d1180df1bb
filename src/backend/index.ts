import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { DataSource, DataSourceOptions } from "typeorm";
import { ConfigError } from "../core/errors";
import type { PostgresOptions } from "../core/options";
import { resolvePostgresOptions, type ResolvedPostgresOptions } from "../core/resolveOptions";
import type { Backend } from "./backend";
import { newProcessLocal, type ProcessLocal } from "./processLocal";
import { PostgresBackend } from "./postgres/backend";
import { SqliteBackend } from "./sqlite/backend";

export type {
  Backend,
  CommitStatus,
  CommitTicket,
  DdlVocabulary,
  JsonColumns,
  JsonColumnType,
  TransactionWork,
} from "./backend";
export { CommitInterrupted } from "./backend";
export { MIGRATION_ADVISORY_LOCK_KEY } from "./postgres/backend";

/** A DataSource's backend, the options it was created with, and what its hrp-cron objects share in this process. */
interface Entry {
  readonly backend: Backend;
  readonly options: ResolvedPostgresOptions;
  readonly local: ProcessLocal;
}

/**
 * The per-DataSource cache: the only module-level state of hrp-cron (see
 * docs/ARCHITECTURE.md, "Decisions"). Keyed weakly, so a DataSource that is
 * dropped takes its backend with it.
 */
const backends = new WeakMap<DataSource, Entry>();

/**
 * The backend for a DataSource, created once and shared by every hrp-cron
 * object using that DataSource (so SQLite's per-connection mutex is shared).
 * This is the only place that looks at the driver type.
 *
 * `options` (PostgreSQL connection behaviour: `poolMode`, `listenUrl`; see
 * {@link PostgresOptions}) belong to the DataSource, so they are fixed when
 * its backend is created: give them at the first hrp-cron call on a
 * DataSource, before `migrate` (the CLI does, from its config's
 * `postgres`). Later calls without options get that backend; a later call
 * with different options throws ConfigError.
 *
 * ```ts
 * await dataSource.initialize(); // through PgBouncer, pool_mode = transaction
 * backendFor(dataSource, { poolMode: "transaction", listenUrl: "postgres://app@db-primary:5432/app" });
 * await migrate(dataSource);
 * ```
 * @throws ValidationError for bad options; ConfigError for another driver, or options differing from the backend's
 */
export function backendFor(dataSource: DataSource, options?: PostgresOptions): Backend {
  if (!isDataSourceLike(dataSource)) {
    throw new ConfigError(
      'expected a TypeORM DataSource (new DataSource({ type: "better-sqlite3" | "postgres", ... }))',
      {},
    );
  }
  const resolved = options === undefined ? undefined : resolvePostgresOptions(options);
  const existing = backends.get(dataSource);
  if (existing) {
    if (
      resolved &&
      (resolved.poolMode !== existing.options.poolMode || resolved.listenUrl !== existing.options.listenUrl)
    ) {
      throw new ConfigError(
        `this DataSource's hrp-cron backend already runs with poolMode "${existing.options.poolMode}" and listenUrl ${existing.options.listenUrl === null ? "none" : "set"}; ` +
          "give backend options at the first hrp-cron call on a DataSource (backendFor(dataSource, options) before migrate), and the same ones every time",
        { poolMode: existing.options.poolMode, requestedPoolMode: resolved.poolMode },
      );
    }
    return existing.backend;
  }
  const chosen = resolved ?? resolvePostgresOptions();
  const entry = { backend: createBackend(dataSource, chosen), options: chosen, local: newProcessLocal(dataSource) };
  backends.set(dataSource, entry);
  return entry.backend;
}

/**
 * What the hrp-cron objects of `dataSource` share within this process
 * (in-process wake-ups, runs in progress, live dispatchers): one set per
 * DataSource, created with its backend.
 */
export function localFor(dataSource: DataSource): ProcessLocal {
  backendFor(dataSource);
  return backends.get(dataSource)!.local;
}

function createBackend(dataSource: DataSource, options: ResolvedPostgresOptions): Backend {
  const type = dataSource.options.type;
  if (type === "better-sqlite3") return new SqliteBackend(dataSource);
  if (type === "postgres") return new PostgresBackend(dataSource, options);
  throw new ConfigError(
    `hrp-cron supports the "better-sqlite3" and "postgres" TypeORM drivers, not "${type}"; use one of those for the DataSource`,
    { type },
  );
}
export { hydrate } from "./common";
export { assertDriverInstalled, DRIVER_PACKAGES } from "./driverPackage";

/**
 * The path of the embedded SQLite file `options` name when that file does
 * not exist (initializing such a DataSource would create it); null for an
 * existing file, `:memory:` and other databases.
 */
export function missingDatabaseFile(options: DataSourceOptions): string | null {
  if (options.type !== "better-sqlite3" || typeof options.database !== "string" || options.database === ":memory:")
    return null;
  return existsSync(options.database) ? null : resolve(options.database);
}

function isDataSourceLike(value: unknown): value is DataSource {
  try {
    const options = (value as { options?: unknown } | null)?.options;
    return typeof value === "object" && value !== null && typeof options === "object" && options !== null;
  } catch {
    return false; // a proxy that throws, say
  }
}
