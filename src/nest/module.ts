import { Module, type DynamicModule, type Provider } from "@nestjs/common";
import { DiscoveryModule } from "@nestjs/core";
import { ConfigError } from "../core/errors";
import { describe } from "../core/validate";
import { HrpCronLifecycle } from "./lifecycle";
import {
  ASYNC_OPTION_KEYS,
  checkKeys,
  checkModuleOptions,
  MODULE_DEFAULTS,
  MODULE_OPTION_KEYS,
  ROOT_OPTION_KEYS,
  type HrpCronModuleAsyncOptions,
  type HrpCronModuleRootOptions,
} from "./options";
import { EXPORTED_PROVIDERS, HRP_CRON_OPTIONS, objectProviders } from "./providers";
import { typeormDataSourceToken } from "./typeormToken";

/**
 * hrp-cron in a NestJS application: `HrpCronJobService`, `JobQueue`,
 * `JobAdmin`, `Dispatcher`, `Scheduler` and `ModelRegistry` as injectable
 * providers on one DataSource (`@nestjs/typeorm`'s, or one given); the
 * application's providers marked `@jobModel` registered as job models (their
 * `@jobMethod`s run with their injected services, as the job's stored user);
 * the dispatcher and the scheduler started with the application and stopped
 * when it closes. See {@link HrpCronModuleOptions} for the options. Import
 * it once, in the root module; `isGlobal: true` lets every module inject its
 * services.
 *
 * ```ts
 * @Injectable()
 * @jobModel("app.invoice")
 * class InvoiceJobs {
 *   constructor(private readonly invoices: InvoiceService) {}
 *   @jobMethod()
 *   async send(env: JobEnv, kw: { id: number }) {
 *     await this.invoices.send(env.manager, kw.id, env.uid);
 *   }
 * }
 *
 * @Module({
 *   imports: [TypeOrmModule.forRoot({ ...options, entities: [...ENTITIES, Invoice] }), HrpCronModule.forRoot({ migrate: true })],
 *   providers: [InvoiceService, InvoiceJobs],
 * })
 * class AppModule {}
 * // anywhere: constructor(private readonly queue: JobQueue) {} ... this.queue.enqueue("app.invoice.send", { kwargs: { id } })
 * ```
 */
@Module({})
export class HrpCronModule {
  /**
   * The module with its options given now.
   * @throws ConfigError for an unknown option, a value of the wrong kind, or no DataSource to be had
   */
  static forRoot(options: HrpCronModuleRootOptions = {}): DynamicModule {
    const where = "HrpCronModule.forRoot";
    const { isGlobal, dataSourceName, ...rest } = checkKeys(
      options,
      [...MODULE_OPTION_KEYS, ...ROOT_OPTION_KEYS],
      where,
    ) as HrpCronModuleRootOptions;
    checkRootValues(isGlobal, dataSourceName, where);
    const resolved = checkModuleOptions(rest, where);
    if (resolved.dataSource !== undefined && dataSourceName !== undefined)
      throw new ConfigError(`${where}: give dataSource or dataSourceName, not both`, { key: "dataSourceName" });
    let token: unknown = null;
    if (resolved.dataSource === undefined) {
      token = typeormDataSourceToken(dataSourceName);
      if (token === null)
        throw new ConfigError(
          `${where}: no dataSource given and @nestjs/typeorm, which would provide it, is not installed: pass { dataSource } (an initialized TypeORM DataSource), or npm install @nestjs/typeorm and import TypeOrmModule.forRoot(...)`,
          { key: "dataSource" },
        );
    }
    return moduleOf({ provide: HRP_CRON_OPTIONS, useValue: resolved }, token, isGlobal, []);
  }

  /**
   * The module with its options made by `useFactory` (with what `inject`
   * names, from `imports`), when the application starts. The factory's
   * options are checked then.
   * @throws ConfigError for an unknown option or a value of the wrong kind (here, or when the factory's options are checked)
   */
  static forRootAsync(options: HrpCronModuleAsyncOptions): DynamicModule {
    const where = "HrpCronModule.forRootAsync";
    const { imports, inject, useFactory, isGlobal, dataSourceName } = checkKeys(
      options,
      ASYNC_OPTION_KEYS,
      where,
    ) as Partial<HrpCronModuleAsyncOptions>;
    if (typeof useFactory !== "function")
      throw new ConfigError(
        `${where}: "useFactory" must be a function returning the module's options, got ${describe(useFactory)}`,
        { key: "useFactory" },
      );
    for (const [key, value] of [
      ["imports", imports],
      ["inject", inject],
    ] as const) {
      if (value !== undefined && !Array.isArray(value))
        throw new ConfigError(`${where}: "${key}" must be an array, got ${describe(value)}`, { key });
    }
    checkRootValues(isGlobal, dataSourceName, where);
    const token = typeormDataSourceToken(dataSourceName);
    if (token === null && dataSourceName !== undefined)
      throw new ConfigError(
        `${where}: dataSourceName names a connection of @nestjs/typeorm, which is not installed: npm install @nestjs/typeorm, or have the factory return { dataSource }`,
        { key: "dataSourceName" },
      );
    const factory: Provider = {
      provide: HRP_CRON_OPTIONS,
      inject: inject ?? [],
      useFactory: async (...args: unknown[]) =>
        checkModuleOptions(await useFactory(...args), `${where}'s useFactory`) as unknown,
    };
    return moduleOf(factory, token, isGlobal, imports ?? []);
  }
}

/**
 * `isGlobal` and `dataSourceName`, given to `forRoot` or `forRootAsync`.
 * @throws ConfigError
 */
function checkRootValues(isGlobal: unknown, dataSourceName: unknown, where: string): void {
  if (isGlobal !== undefined && typeof isGlobal !== "boolean")
    throw new ConfigError(`${where}: "isGlobal" must be true or false, got ${describe(isGlobal)}`, { key: "isGlobal" });
  if (dataSourceName !== undefined && (typeof dataSourceName !== "string" || dataSourceName === ""))
    throw new ConfigError(
      `${where}: "dataSourceName" must be the name of a TypeOrmModule connection, got ${describe(dataSourceName)}`,
      { key: "dataSourceName" },
    );
}

function moduleOf(
  options: Provider,
  typeormToken: unknown,
  isGlobal: boolean | undefined,
  imports: DynamicModule["imports"],
): DynamicModule {
  return {
    module: HrpCronModule,
    global: isGlobal ?? MODULE_DEFAULTS.isGlobal,
    imports: [DiscoveryModule, ...(imports ?? [])],
    providers: [options, ...objectProviders(typeormToken), HrpCronLifecycle],
    exports: [...EXPORTED_PROVIDERS],
  };
}
