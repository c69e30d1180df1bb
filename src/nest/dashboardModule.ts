import {
  Inject,
  Module,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Provider,
} from "@nestjs/common";
import type { DataSource } from "typeorm";
import { ConfigError } from "../core/errors";
import { describe } from "../core/validate";
import { Dashboard, expressDashboard, type DashboardUser } from "../dashboard";
import {
  checkDashboardModuleOptions,
  checkDataSourceName,
  DASHBOARD_ASYNC_KEYS,
  DASHBOARD_MODULE_KEYS,
  type HrpCronDashboardModuleAsyncOptions,
  type HrpCronDashboardModuleOptions,
  type HrpCronDashboardModuleRootOptions,
} from "./dashboardOptions";
import { checkKeys } from "./options";
import { typeormDataSourceToken } from "./typeormToken";

/** The module's checked options (`HrpCronDashboardModuleOptions`). */
const DASHBOARD_OPTIONS = "hrp-cron:dashboard-options";

/**
 * The web dashboard in a NestJS application on Express
 * (`@nestjs/platform-express`): a Nest middleware that answers the
 * dashboard's `basePath` (the full public path, global prefix included)
 * and passes every other request on. The `Dashboard` is built on the
 * application's DataSource (`@nestjs/typeorm`'s, or one given) and is
 * injectable. `resolveUser` receives Express's request after the
 * application's own middleware ran (passport's `req.user`, a session);
 * Nest's guards do not run for middleware, so `resolveUser` and
 * `resolveAccess` are what guard it. With a global prefix, the middleware
 * runs below it only: put `basePath` there (`/api/admin/jobs`).
 *
 * ```ts
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ ...options, entities: ENTITIES }),
 *     HrpCronDashboardModule.forRoot({
 *       basePath: "/admin/jobs",
 *       resolveUser: (req: Request & { user?: AppUser }) => (req.user ? { login: req.user.username } : null),
 *       resolveAccess: (user) => (user.login === "admin" ? "all" : "read-only"),
 *     }),
 *   ],
 * })
 * class AppModule {}
 * ```
 */
@Module({})
export class HrpCronDashboardModule implements NestModule {
  constructor(@Inject(Dashboard) private readonly dashboard: Dashboard<any, any>) {}

  /** Mounts the dashboard for every route; it answers its `basePath` and passes the rest on. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(expressDashboard(this.dashboard)).forRoutes({
      path: "*",
      method: RequestMethod.ALL,
    });
  }

  /**
   * The module with its options given now.
   * @throws ConfigError for an unknown option, a value of the wrong kind, or no DataSource to be had
   */
  static forRoot<Req = any, User extends DashboardUser = DashboardUser>(
    options: HrpCronDashboardModuleRootOptions<Req, User>,
  ): DynamicModule {
    const where = "HrpCronDashboardModule.forRoot";
    const { dataSourceName, ...rest } = checkKeys(
      options,
      [...DASHBOARD_MODULE_KEYS, "dataSourceName"],
      where,
    ) as HrpCronDashboardModuleRootOptions<Req, User>;
    checkDataSourceName(dataSourceName, where);
    const checked = checkDashboardModuleOptions(rest, where);
    if (checked.dataSource !== undefined && dataSourceName !== undefined)
      throw new ConfigError(`${where}: give dataSource or dataSourceName, not both`, { key: "dataSourceName" });
    const token = checked.dataSource === undefined ? typeormDataSourceToken(dataSourceName) : null;
    if (checked.dataSource === undefined && token === null)
      throw new ConfigError(
        `${where}: no dataSource given and @nestjs/typeorm, which would provide it, is not installed: pass { dataSource } (an initialized TypeORM DataSource), or npm install @nestjs/typeorm and import TypeOrmModule.forRoot(...)`,
        { key: "dataSource" },
      );
    return moduleOf({ provide: DASHBOARD_OPTIONS, useValue: checked }, token, []);
  }

  /**
   * The module with its options made by `useFactory` (with what `inject`
   * names, from `imports`) when the application starts; they are checked then.
   * @throws ConfigError for an unknown option or a value of the wrong kind
   */
  static forRootAsync(options: HrpCronDashboardModuleAsyncOptions): DynamicModule {
    const where = "HrpCronDashboardModule.forRootAsync";
    const { imports, inject, useFactory, dataSourceName } = checkKeys(
      options,
      DASHBOARD_ASYNC_KEYS,
      where,
    ) as Partial<HrpCronDashboardModuleAsyncOptions>;
    if (typeof useFactory !== "function")
      throw new ConfigError(
        `${where}: "useFactory" must be a function returning the dashboard's options, got ${describe(useFactory)}`,
        { key: "useFactory" },
      );
    for (const [key, value] of [
      ["imports", imports],
      ["inject", inject],
    ] as const)
      if (value !== undefined && !Array.isArray(value))
        throw new ConfigError(`${where}: "${key}" must be an array, got ${describe(value)}`, { key });
    checkDataSourceName(dataSourceName, where);
    const factory: Provider = {
      provide: DASHBOARD_OPTIONS,
      inject: inject ?? [],
      useFactory: async (...args: unknown[]) =>
        checkDashboardModuleOptions(await useFactory(...args), `${where}'s useFactory`) as unknown,
    };
    return moduleOf(factory, typeormDataSourceToken(dataSourceName), imports ?? []);
  }
}

function moduleOf(options: Provider, typeormToken: unknown, imports: DynamicModule["imports"]): DynamicModule {
  const dashboard: Provider = {
    provide: Dashboard,
    inject: [DASHBOARD_OPTIONS, ...(typeormToken === null ? [] : [{ token: typeormToken as string, optional: true }])],
    useFactory: (o: HrpCronDashboardModuleOptions, fromTypeorm?: DataSource) => {
      const dataSource = o.dataSource ?? fromTypeorm;
      if (dataSource === undefined)
        throw new ConfigError(
          "HrpCronDashboardModule has no DataSource: give one in its options (dataSource), or import TypeOrmModule.forRoot(...) from @nestjs/typeorm (its connection named by dataSourceName)",
          {},
        );
      return new Dashboard({ ...o, dataSource });
    },
  };
  return { module: HrpCronDashboardModule, imports, providers: [options, dashboard], exports: [Dashboard] };
}
