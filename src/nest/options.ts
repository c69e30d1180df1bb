import type { FactoryProvider, ModuleMetadata } from "@nestjs/common";
import type { DataSource } from "typeorm";
import { ConfigError } from "../core/errors";
import {
  keyRecord,
  optionKeys,
  SHARED_OPTION_KEYS,
  type DispatcherOptions,
  type PostgresOptions,
  type QueueSettings,
  type SharedOptions,
} from "../core/options";
import { ModelRegistry } from "../core/registry";
import { describe, isPlainObject } from "../core/validate";
import type { SchedulerOptions } from "../scheduler/schedulerInput";

/**
 * The options of `HrpCronModule`, checked once (`checkModuleOptions`) into
 * what its providers build hrp-cron's objects from. Only the module's own
 * keys and their kinds are checked here, as `ConfigError`; the values of the
 * shared, worker and scheduler options are checked by the objects that take
 * them (`JobQueue`, `Dispatcher`, `Scheduler`: `ValidationError`), when the
 * application starts.
 */

/** The dispatcher's options in the module: every `DispatcherOptions` but `userResolver` (top level) and `sandbox`. */
export type HrpCronWorkerOptions = Omit<DispatcherOptions, "userResolver" | "sandbox">;

/** The scheduler's own options in the module: `schedulerEvents`, `schedulerIntervalMinutes`, `tickIntervalMs`, ... */
export type HrpCronSchedulerOptions = Omit<SchedulerOptions, keyof SharedOptions | "registry" | "workers">;

/**
 * What `HrpCronModule.forRoot` takes (and `forRootAsync`'s factory returns):
 * the shared options of every hrp-cron object (`userResolver`,
 * `defaultUserId`, `logger`, `now`, the transient-retry budget), plus:
 */
export interface HrpCronModuleOptions extends SharedOptions {
  /**
   * The DataSource hrp-cron works on, initialized, its entities including
   * hrp-cron's `ENTITIES`. Only the application destroys it.
   * @defaultValue the DataSource of `@nestjs/typeorm`'s `TypeOrmModule` (the connection named by `dataSourceName`)
   */
  readonly dataSource?: DataSource;
  /**
   * The registry job models are added to: give one holding methods
   * registered by hand (`register`, `define`). Every provider of the
   * application whose class is marked `@jobModel` is registered into it, as
   * that provider's instance, when the module initializes (`onModuleInit`):
   * enqueue their jobs from `onApplicationBootstrap` on, not from another
   * module's `onModuleInit`, which may run first.
   * @defaultValue a new, empty `ModelRegistry`
   */
  readonly registry?: ModelRegistry;
  /** Custom queues and overrides of short/default/long, shared by the queue, the worker and the scheduler. */
  readonly workers?: Readonly<Record<string, QueueSettings>>;
  /**
   * Run the dispatcher in this process: started when the application has
   * bootstrapped (`onApplicationBootstrap`), stopped when it closes
   * (`onModuleDestroy`: running jobs get `gracefulStopMs` to finish). An
   * object gives its options. `false` for a process that only enqueues; the
   * injectable `Dispatcher` then stays stopped (its `runDue()` still works).
   * @defaultValue true
   */
  readonly worker?: boolean | HrpCronWorkerOptions;
  /**
   * Run the (leader-elected) scheduler in this process, as `hrp-cron worker`
   * does: `schedulerEvents` synced and ticks started at bootstrap, stopped
   * at close. An object gives its options.
   * @defaultValue true when the worker runs, else false
   */
  readonly scheduler?: boolean | HrpCronSchedulerOptions;
  /**
   * Bring hrp-cron's tables up to date (`migrate`) before anything uses the
   * DataSource; without a `userResolver` this also creates `res_users`.
   * Leave it off when the application runs `TYPEORM_MIGRATIONS` with its own.
   * @defaultValue false
   */
  readonly migrate?: boolean;
  /** How hrp-cron uses PostgreSQL connections (`backendFor(dataSource, postgres)`), e.g. behind PgBouncer. */
  readonly postgres?: PostgresOptions;
}

/** `HrpCronModule.forRoot`'s options: the module's, and where it is visible and which TypeORM connection it takes. */
export interface HrpCronModuleRootOptions extends HrpCronModuleOptions {
  /** Register the module globally: every module may inject its services. @defaultValue false */
  readonly isGlobal?: boolean;
  /** The `@nestjs/typeorm` connection to use when `dataSource` is not given. @defaultValue the default connection */
  readonly dataSourceName?: string;
}

/**
 * `HrpCronModule.forRootAsync`'s options: a factory for the module's options,
 * Nest style. `isGlobal` and `dataSourceName` are given here, not by the
 * factory: they decide what the module imports and injects.
 */
export interface HrpCronModuleAsyncOptions {
  /** Modules exporting what `inject` names (a `ConfigModule`, say). */
  readonly imports?: ModuleMetadata["imports"];
  /** What `useFactory` receives, in order. */
  readonly inject?: FactoryProvider["inject"];
  readonly useFactory: (...args: any[]) => HrpCronModuleOptions | Promise<HrpCronModuleOptions>;
  /** @defaultValue false */
  readonly isGlobal?: boolean;
  /** The `@nestjs/typeorm` connection to use when the factory gives no `dataSource`. @defaultValue the default connection */
  readonly dataSourceName?: string;
}

/** The module's options, checked: what the providers build from. */
export interface ResolvedModuleOptions {
  readonly dataSource: DataSource | undefined;
  readonly registry: ModelRegistry;
  /** The shared options given, for every object. */
  readonly shared: SharedOptions;
  readonly workers: Readonly<Record<string, QueueSettings>> | undefined;
  /** The dispatcher's options; null: it is not started. */
  readonly worker: HrpCronWorkerOptions | null;
  /** The scheduler's options; null: it is not started. */
  readonly scheduler: HrpCronSchedulerOptions | null;
  readonly migrate: boolean;
  readonly postgres: PostgresOptions | undefined;
}

/** The defaults of the module's own options (the objects' defaults are hrp-cron's `DEFAULTS`). */
export const MODULE_DEFAULTS = Object.freeze({ worker: true, migrate: false, isGlobal: false });

/** Every key of {@link HrpCronModuleOptions}. */
export const MODULE_OPTION_KEYS = optionKeys<HrpCronModuleOptions>({
  ...keyRecord(SHARED_OPTION_KEYS),
  dataSource: true,
  registry: true,
  workers: true,
  worker: true,
  scheduler: true,
  migrate: true,
  postgres: true,
});

/** `forRoot`'s keys besides the module options. */
export const ROOT_OPTION_KEYS = optionKeys<Omit<HrpCronModuleRootOptions, keyof HrpCronModuleOptions>>({
  isGlobal: true,
  dataSourceName: true,
});

export const ASYNC_OPTION_KEYS = optionKeys<HrpCronModuleAsyncOptions>({
  imports: true,
  inject: true,
  useFactory: true,
  isGlobal: true,
  dataSourceName: true,
});

/**
 * Checks the module's options (`where` names the call in messages) and
 * returns them resolved.
 * @throws ConfigError for an unknown key, a value of the wrong kind, or an option the module cannot honour
 */
export function checkModuleOptions(options: unknown, where: string): ResolvedModuleOptions {
  const o = checkKeys(options, MODULE_OPTION_KEYS, where) as HrpCronModuleOptions;
  if (o.dataSource !== undefined && (typeof o.dataSource !== "object" || o.dataSource === null))
    throw new ConfigError(`${where}: "dataSource" must be a TypeORM DataSource, got ${describe(o.dataSource)}`, {
      key: "dataSource",
    });
  if (o.registry !== undefined && !(o.registry instanceof ModelRegistry))
    throw new ConfigError(
      `${where}: "registry" must be a ModelRegistry (new ModelRegistry()), got ${describe(o.registry)}`,
      {
        key: "registry",
      },
    );
  for (const key of ["workers", "postgres"] as const) {
    if (o[key] !== undefined && !isPlainObject(o[key]))
      throw new ConfigError(`${where}: "${key}" must be an object, got ${describe(o[key])}`, { key });
  }
  if (o.migrate !== undefined && typeof o.migrate !== "boolean")
    throw new ConfigError(`${where}: "migrate" must be true or false, got ${describe(o.migrate)}`, { key: "migrate" });
  const worker = switchOrOptions(o.worker, "worker", where, MODULE_DEFAULTS.worker) as DispatcherOptions | null;
  if (worker?.userResolver !== undefined)
    throw new ConfigError(
      `${where}: set userResolver at the top level of HrpCronModule's options, not under "worker": the queue, the service and the scheduler use it too`,
      { key: "worker.userResolver" },
    );
  if (worker?.sandbox !== undefined)
    throw new ConfigError(
      `${where}: "worker.sandbox" is not supported in a Nest application: sandbox threads load a CLI config file, not the application's providers; run sandboxed workers with hrp-cron worker --sandbox`,
      { key: "worker.sandbox" },
    );
  const scheduler = switchOrOptions(o.scheduler, "scheduler", where, worker !== null);
  const shared = Object.fromEntries(
    SHARED_OPTION_KEYS.filter((key) => o[key] !== undefined).map((key) => [key, o[key]]),
  ) as SharedOptions;
  return {
    dataSource: o.dataSource,
    registry: o.registry ?? new ModelRegistry(),
    shared,
    workers: o.workers,
    worker: worker as HrpCronWorkerOptions | null,
    scheduler: scheduler as HrpCronSchedulerOptions | null,
    migrate: o.migrate ?? MODULE_DEFAULTS.migrate,
    postgres: o.postgres,
  };
}

/**
 * `value` as a plain object whose keys are all in `allowed` (undefined: `{}`).
 * @throws ConfigError
 */
export function checkKeys(value: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value))
    throw new ConfigError(`${where}: expected an options object, got ${describe(value)}`, { where });
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== "string" || !allowed.includes(key))
      throw new ConfigError(`${where}: unknown option "${String(key)}"; known options are ${allowed.join(", ")}`, {
        where,
        key: String(key),
      });
  }
  return value;
}

/** `true`/`false`/an options object (undefined: `byDefault`) as the options to use, or null when off. */
function switchOrOptions(
  value: unknown,
  key: string,
  where: string,
  byDefault: boolean,
): Record<string, unknown> | null {
  if (value === undefined) return byDefault ? {} : null;
  if (typeof value === "boolean") return value ? {} : null;
  if (isPlainObject(value)) return value;
  throw new ConfigError(`${where}: "${key}" must be true, false or an options object, got ${describe(value)}`, {
    key,
  });
}
