import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";
import { backendFor } from "../backend";
import { defaultDataSourceOptions, defaultPostgresOptions } from "../schema/dataSourceOptions";
import { ENTITIES } from "../schema/entities";
import { ConfigError } from "../core/errors";
import { checkConfig } from "./configCheck";
import type { DispatcherOptions, PostgresOptions, QueueSettings } from "../core/options";
import type { SchedulerEvents } from "../scheduler/schedulerInput";
import { ModelRegistry } from "../core/registry";
import type { HrpCronJobService } from "../api/automatedTasks";

/** What `setup` receives: the migrated data source and a service bound to the registry. */
export interface SetupContext {
  readonly dataSource: DataSource;
  readonly registry: ModelRegistry;
  readonly service: HrpCronJobService;
}

/**
 * The app's hrp-cron configuration file (`hrp-cron.config.js`), found by
 * `--config PATH`, else `HRP_CRON_CONFIG`, else `./hrp-cron.config.js`.
 *
 * ```ts
 * export default defineConfig({
 *   registry: () => myRegistry,
 *   dataSource: { ...defaultDataSourceOptions(), entities: [...ENTITIES, Invoice] },
 * });
 * ```
 */
export interface HrpCronConfig {
  /**
   * The database: a DataSource (initialized or not), DataSource options, or a
   * function returning either. Its entities must include hrp-cron's `ENTITIES`.
   * @defaultValue `defaultDataSourceOptions()` from `ormconfig.ts` (`./hrp-cron.sqlite` or `HRP_CRON_DB`)
   */
  readonly dataSource?: DataSource | DataSourceOptions | (() => DataSource | DataSourceOptions | Promise<DataSource | DataSourceOptions>);
  /** The models and methods jobs may call. @defaultValue an empty registry (`hrp-cron worker` then refuses to start) */
  readonly registry?: ModelRegistry | (() => ModelRegistry | Promise<ModelRegistry>);
  /** Custom queues and overrides of short/default/long (Frappe's `workers`), shared by workers and `JobQueue`. */
  readonly workers?: Readonly<Record<string, QueueSettings>>;
  /** App-declared scheduler events (Frappe hooks style), synced on `worker`, `scheduler` and `migrate`. */
  readonly schedulerEvents?: SchedulerEvents;
  /** Period of the `all` event in minutes. @defaultValue 4 */
  readonly schedulerIntervalMinutes?: number;
  /**
   * How hrp-cron uses PostgreSQL connections, e.g. behind PgBouncer in
   * transaction mode: `{ poolMode: "transaction", listenUrl: "postgres://...direct..." }`.
   * Applied when the DataSource is opened, over `HRP_CRON_PG_POOL_MODE` /
   * `HRP_CRON_PG_LISTEN_URL`. @defaultValue from those variables, else a direct connection
   */
  readonly postgres?: PostgresOptions;
  /** Options for the `worker` command's dispatcher (logger defaults to console at `info`). */
  readonly dispatcher?: DispatcherOptions;
  /**
   * Runs after `migrate()` and before a command that writes (creating the app's tables, seeding
   * examples); the read-only commands (`jobs`, `crons`, `runs`, `queues`, `doctor`, ...) never run it.
   */
  readonly setup?: (context: SetupContext) => Promise<void>;
}

/** Identity function that gives a config file type checking. */
export function defineConfig(config: HrpCronConfig): HrpCronConfig {
  return config;
}

/** The config file's absolute path (`--config`, else `HRP_CRON_CONFIG`, else `./hrp-cron.config.js`). */
export function configPathOf(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicitPath ?? env.HRP_CRON_CONFIG ?? "hrp-cron.config.js");
}

/** Loads the config module; no file means the defaults (embedded SQLite, empty registry). */
export function loadConfig(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): HrpCronConfig {
  const candidate = explicitPath ?? env.HRP_CRON_CONFIG;
  const path = configPathOf(explicitPath, env);
  if (!existsSync(path)) {
    if (candidate) throw new ConfigError(`config file ${path} does not exist; pass --config with the path of your hrp-cron.config.js`, { path });
    return {};
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path) as { default?: HrpCronConfig } & HrpCronConfig;
  const config = loaded.default ?? loaded;
  if (typeof config !== "object" || config === null) {
    throw new ConfigError(`config file ${path} must export an object (use defineConfig)`, { path });
  }
  checkConfig(config, path);
  return config;
}

/** Resolves the configured DataSource, initialized, with its backend options (`postgres`) applied. */
export async function openDataSource(config: HrpCronConfig): Promise<DataSource> {
  const dataSource = await configuredDataSource(config);
  if (!dataSource.isInitialized) await dataSource.initialize();
  const postgres = { ...defaultPostgresOptions(process.env), ...config.postgres };
  if (Object.keys(postgres).length > 0) backendFor(dataSource, postgres);
  return dataSource;
}

/** The configured DataSource as given: not initialized unless the config initialized it. */
export async function configuredDataSource(config: HrpCronConfig): Promise<DataSource> {
  const given = typeof config.dataSource === "function" ? await config.dataSource() : config.dataSource;
  return given instanceof DataSource ? given : new DataSource(given ?? defaultDataSourceOptions(process.env, ENTITIES));
}

export async function openRegistry(config: HrpCronConfig): Promise<ModelRegistry> {
  const given = typeof config.registry === "function" ? await config.registry() : config.registry;
  if (given !== undefined && !(given instanceof ModelRegistry)) {
    throw new ConfigError("config.registry must be a ModelRegistry (or a function returning one)", {});
  }
  return given ?? new ModelRegistry();
}
