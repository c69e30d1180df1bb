import type { DataSource, DataSourceOptions } from "typeorm";
import type { HrpCronJobService } from "../api/automatedTasks";
import { ConfigError } from "../core/errors";
import type { DispatcherOptions, PostgresOptions, QueueSettings } from "../core/options";
import { QueueSet } from "../core/queues";
import type { ModelRegistry } from "../core/registry";
import { resolveDispatcherOptions } from "../core/resolveOptions";
import { checkInt } from "../core/validate";
import { checkSchedulerEvents, type SchedulerEvents } from "../scheduler/schedulerInput";
import type { UserResolver } from "../core/users";
import { ResUsersResolver } from "../store/users";
import type { DashboardOptions } from "../dashboard";

/** What the config may set of the dashboard the CLI serves (who gets in comes from the environment). */
export type CliDashboardOptions = Pick<
  DashboardOptions,
  "basePath" | "redactArgs" | "defaultLocale" | "timeZone" | "pageSize" | "bulkMax"
>;

const CLI_DASHBOARD_KEYS: ReadonlyArray<keyof CliDashboardOptions> = [
  "basePath",
  "redactArgs",
  "defaultLocale",
  "timeZone",
  "pageSize",
  "bulkMax",
];

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
  readonly dataSource?:
    DataSource | DataSourceOptions | (() => DataSource | DataSourceOptions | Promise<DataSource | DataSourceOptions>);
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
  /**
   * Where the users jobs run as come from, for every command (workers,
   * scheduler, `add-job`, `add-job-type`, listings, `migrate`): an object
   * with `findUser(manager, id)` over the application's own users table.
   * With one, `migrate` does not create `res_users`.
   * @defaultValue the `res_users` table (`ResUsersResolver`), created by `migrate` with Administrator as id 1
   */
  readonly userResolver?: UserResolver;
  /** Options for the `worker` command's dispatcher (logger defaults to console at `info`); its users come from the top-level `userResolver`. */
  readonly dispatcher?: Omit<DispatcherOptions, "userResolver">;
  /**
   * Runs after `migrate()` and before a command that writes (creating the app's tables, seeding
   * examples); the read-only commands (`jobs`, `crons`, `runs`, `queues`, `doctor`, ...) never run it.
   */
  readonly setup?: (context: SetupContext) => Promise<void>;
  /**
   * The dashboard `hrp-cron dashboard` and `hrp-cron worker --dashboard`
   * serve: its `basePath` (`--base-path` wins), `redactArgs`, `timeZone`,
   * `defaultLocale`, `pageSize`, `bulkMax`. Who may use it comes from the
   * environment (`HRP_CRON_DASHBOARD_TOKEN`, ...), never from this file.
   */
  readonly dashboard?: CliDashboardOptions;
}

/** Identity function that gives a config file type checking. */
export function defineConfig(config: HrpCronConfig): HrpCronConfig {
  return config;
}

/**
 * Every key a config file may set, with what its value must be. A misspelt
 * key (`schedulerEvent`, `worker`) is refused instead of silently doing
 * nothing; a new config option must be listed here.
 */
const CONFIG_KEYS: Readonly<Record<keyof HrpCronConfig, string>> = {
  dataSource: "object|function",
  registry: "object|function",
  workers: "object",
  schedulerEvents: "object",
  schedulerIntervalMinutes: "number",
  dispatcher: "object",
  userResolver: "object",
  setup: "function",
  postgres: "object",
  dashboard: "object",
};

/**
 * Checks a loaded config before any command opens the database: its keys,
 * the kinds of their values, and the queue, dispatcher and scheduler
 * settings themselves (the same checks their classes make).
 * @throws ConfigError, ValidationError
 */
export function checkConfig(config: HrpCronConfig, path: string): HrpCronConfig {
  for (const [key, value] of Object.entries(config)) {
    if (key === "__esModule" || value === undefined) continue;
    const expected = CONFIG_KEYS[key as keyof HrpCronConfig];
    if (expected === undefined) {
      throw new ConfigError(
        `config file ${path}: unknown key "${key}"; known keys are ${Object.keys(CONFIG_KEYS).join(", ")}`,
        { path, key },
      );
    }
    const kind = value === null ? "null" : typeof value;
    if (!expected.split("|").includes(kind)) {
      throw new ConfigError(`config file ${path}: "${key}" must be ${expected.replace("|", " or ")}, got ${kind}`, {
        path,
        key,
      });
    }
  }
  if (config.userResolver !== undefined && typeof config.userResolver.findUser !== "function") {
    throw new ConfigError(
      `config file ${path}: "userResolver" must be an object with findUser(manager, userId), as UserResolver describes`,
      { path, key: "userResolver" },
    );
  }
  if ((config.dispatcher as DispatcherOptions | undefined)?.userResolver !== undefined) {
    throw new ConfigError(
      `config file ${path}: set userResolver at the top level of the config, not under "dispatcher": every command uses it`,
      { path, key: "dispatcher.userResolver" },
    );
  }
  if (config.workers !== undefined) new QueueSet(config.workers);
  if (config.dispatcher !== undefined) {
    resolveDispatcherOptions(
      { ...config.dispatcher, workers: { ...config.workers, ...config.dispatcher.workers } },
      false,
      config.userResolver ?? new ResUsersResolver(),
    );
  }
  for (const key of Object.keys(config.dashboard ?? {}))
    if (!(CLI_DASHBOARD_KEYS as readonly string[]).includes(key))
      throw new ConfigError(
        `config file ${path}: unknown key "dashboard.${key}"; the dashboard takes ${CLI_DASHBOARD_KEYS.join(", ")} (who may use it comes from HRP_CRON_DASHBOARD_TOKEN, HRP_CRON_DASHBOARD_USER and HRP_CRON_DASHBOARD_PASSWORD)`,
        { path, key: `dashboard.${key}` },
      );
  if (config.schedulerEvents !== undefined) checkSchedulerEvents(config.schedulerEvents);
  if (config.schedulerIntervalMinutes !== undefined)
    checkInt("schedulerIntervalMinutes", config.schedulerIntervalMinutes, 1, 59);
  return config;
}
