import type { FactoryProvider, Provider } from "@nestjs/common";
import type { DataSource } from "typeorm";
import { HrpCronJobService } from "../api/automatedTasks";
import { JobAdmin } from "../api/jobAdmin";
import { JobQueue } from "../api/jobQueue";
import { backendFor } from "../backend";
import { ConfigError } from "../core/errors";
import { ModelRegistry } from "../core/registry";
import { Scheduler } from "../scheduler/scheduler";
import { migrate } from "../schema/migrate";
import { Dispatcher } from "../worker/dispatcher";
import type { ResolvedModuleOptions } from "./options";

/**
 * The providers of `HrpCronModule`: hrp-cron's objects, each built the way
 * a plain application builds it (`new JobQueue(dataSource, options)`, ...)
 * from the module's options, on one DataSource. The classes are their own
 * injection tokens, so `constructor(private readonly queue: JobQueue)` works.
 */

/** The module's checked options (`ResolvedModuleOptions`). */
export const HRP_CRON_OPTIONS = "hrp-cron:module-options";

/** The DataSource hrp-cron's objects use: given in the options, else `@nestjs/typeorm`'s; migrated when asked. */
export const HRP_CRON_DATA_SOURCE = "hrp-cron:data-source";

/** What the module exports: every object an application may inject. */
export const EXPORTED_PROVIDERS = Object.freeze([
  ModelRegistry,
  HrpCronJobService,
  JobQueue,
  JobAdmin,
  Dispatcher,
  Scheduler,
]);

/**
 * Every provider but the options. `typeormToken`: `@nestjs/typeorm`'s token
 * of the DataSource to use when the options give none (null: not installed).
 */
export function objectProviders(typeormToken: unknown): Provider[] {
  const dataSource: FactoryProvider<Promise<DataSource>> = {
    provide: HRP_CRON_DATA_SOURCE,
    inject: [HRP_CRON_OPTIONS, ...(typeormToken === null ? [] : [{ token: typeormToken as string, optional: true }])],
    useFactory: (options: ResolvedModuleOptions, fromTypeorm?: DataSource) => openDataSource(options, fromTypeorm),
  };
  const on = [HRP_CRON_DATA_SOURCE, HRP_CRON_OPTIONS, ModelRegistry];
  type Factory<T> = (ds: DataSource, o: ResolvedModuleOptions, registry: ModelRegistry) => T;
  const made = <T>(provide: abstract new (...args: any[]) => T, useFactory: Factory<T>): Provider => ({
    provide,
    inject: on,
    useFactory,
  });
  return [
    dataSource,
    { provide: ModelRegistry, inject: [HRP_CRON_OPTIONS], useFactory: (o: ResolvedModuleOptions) => o.registry },
    made(HrpCronJobService, (ds, o, registry) => new HrpCronJobService(ds, { ...o.shared, registry })),
    made(JobQueue, (ds, o, registry) => new JobQueue(ds, { ...o.shared, registry, workers: o.workers })),
    made(JobAdmin, (ds, o) => new JobAdmin(ds, o.shared)),
    made(
      Dispatcher,
      (ds, o, registry) =>
        new Dispatcher(ds, registry, {
          ...o.shared,
          ...o.worker,
          workers: { ...o.workers, ...o.worker?.workers },
        }),
    ),
    made(
      Scheduler,
      (ds, o, registry) => new Scheduler(ds, { ...o.shared, ...o.scheduler, registry, workers: o.workers }),
    ),
  ];
}

/**
 * The DataSource to use: the options', else `@nestjs/typeorm`'s; its backend
 * made with the `postgres` options; migrated when `migrate` is on (without
 * `res_users` when the application resolves its users, as the CLI does).
 * @throws ConfigError when there is none, or it is not initialized
 */
async function openDataSource(
  options: ResolvedModuleOptions,
  fromTypeorm: DataSource | undefined,
): Promise<DataSource> {
  const dataSource = options.dataSource ?? fromTypeorm;
  if (dataSource === undefined)
    throw new ConfigError(
      "HrpCronModule has no DataSource: give one in its options (dataSource), or import TypeOrmModule.forRoot(...) from @nestjs/typeorm (its connection named by dataSourceName)",
      {},
    );
  if ((dataSource as { isInitialized?: unknown }).isInitialized !== true)
    throw new ConfigError(
      "HrpCronModule's DataSource is not initialized: await dataSource.initialize() before giving it (in forRootAsync's factory), or let TypeOrmModule provide it",
      {},
    );
  backendFor(dataSource, options.postgres);
  if (options.migrate) await migrate(dataSource, { usersTable: options.shared.userResolver === undefined });
  return dataSource;
}
