import type { FactoryProvider, ModuleMetadata } from "@nestjs/common";
import type { DataSource } from "typeorm";
import { ConfigError } from "../core/errors";
import { optionKeys } from "../core/options";
import { describe } from "../core/validate";
import type { DashboardOptions, DashboardUser } from "../dashboard";
import { checkKeys } from "./options";

/**
 * The options of `HrpCronDashboardModule`: the dashboard's own
 * (`DashboardOptions`: `basePath`, `resolveUser`, `resolveAccess`,
 * `redactArgs`, ...), with the DataSource optional. Only the keys and the
 * DataSource's kind are checked here (`ConfigError`); the values are
 * checked by `new Dashboard(...)` when the application starts.
 *
 * `Req` is the request `resolveUser` receives: Express's `Request` (Nest on
 * `@nestjs/platform-express`), after the application's middleware (passport,
 * sessions) ran. Nest's guards protect controllers, not middleware: the
 * dashboard is guarded by `resolveUser` and `resolveAccess`.
 */
export interface HrpCronDashboardModuleOptions<Req = any, User extends DashboardUser = DashboardUser> extends Omit<
  DashboardOptions<Req, User>,
  "dataSource"
> {
  /**
   * The DataSource the dashboard reads and acts on, initialized.
   * @defaultValue the DataSource of `@nestjs/typeorm`'s `TypeOrmModule` (the connection named by `dataSourceName`)
   */
  readonly dataSource?: DataSource;
}

/** `HrpCronDashboardModule.forRoot`'s options: the dashboard's, and which TypeORM connection it takes. */
export interface HrpCronDashboardModuleRootOptions<
  Req = any,
  User extends DashboardUser = DashboardUser,
> extends HrpCronDashboardModuleOptions<Req, User> {
  /** The `@nestjs/typeorm` connection to use when `dataSource` is not given. @defaultValue the default connection */
  readonly dataSourceName?: string;
}

/**
 * `HrpCronDashboardModule.forRootAsync`'s options: a factory for the
 * dashboard's options (a `resolveUser` over an injected users service, say).
 */
export interface HrpCronDashboardModuleAsyncOptions {
  /** Modules exporting what `inject` names. */
  readonly imports?: ModuleMetadata["imports"];
  /** What `useFactory` receives, in order. */
  readonly inject?: FactoryProvider["inject"];
  readonly useFactory: (
    ...args: any[]
  ) => HrpCronDashboardModuleOptions<any, any> | Promise<HrpCronDashboardModuleOptions<any, any>>;
  /** The `@nestjs/typeorm` connection to use when the factory gives no `dataSource`. @defaultValue the default connection */
  readonly dataSourceName?: string;
}

/** Every key of {@link HrpCronDashboardModuleOptions}. */
export const DASHBOARD_MODULE_KEYS = optionKeys<HrpCronDashboardModuleOptions>({
  dataSource: true,
  basePath: true,
  resolveUser: true,
  resolveAccess: true,
  redactArgs: true,
  defaultLocale: true,
  timeZone: true,
  pageSize: true,
  bulkMax: true,
  userResolver: true,
  logger: true,
  now: true,
});

export const DASHBOARD_ASYNC_KEYS = optionKeys<HrpCronDashboardModuleAsyncOptions>({
  imports: true,
  inject: true,
  useFactory: true,
  dataSourceName: true,
});

/**
 * Checks the module's options (`where` names the call in messages).
 * @throws ConfigError for an unknown key or a `dataSource` that is no object
 */
export function checkDashboardModuleOptions(options: unknown, where: string): HrpCronDashboardModuleOptions {
  const o = checkKeys(options, DASHBOARD_MODULE_KEYS, where) as HrpCronDashboardModuleOptions;
  if (o.dataSource !== undefined && (typeof o.dataSource !== "object" || o.dataSource === null))
    throw new ConfigError(`${where}: "dataSource" must be a TypeORM DataSource, got ${describe(o.dataSource)}`, {
      key: "dataSource",
    });
  return o;
}

/**
 * `dataSourceName`, given to `forRoot` or `forRootAsync`.
 * @throws ConfigError
 */
export function checkDataSourceName(dataSourceName: unknown, where: string): void {
  if (dataSourceName !== undefined && (typeof dataSourceName !== "string" || dataSourceName === ""))
    throw new ConfigError(
      `${where}: "dataSourceName" must be the name of a TypeOrmModule connection, got ${describe(dataSourceName)}`,
      { key: "dataSourceName" },
    );
}
