/**
 * `hrp-cron/nest`: hrp-cron in a NestJS application. Needs `@nestjs/common`
 * and `@nestjs/core` (and `@nestjs/typeorm` to take its DataSource), which
 * are optional peer dependencies of hrp-cron: the main entry `hrp-cron`
 * never loads them.
 */
export { HrpCronModule } from "./module";
export type {
  HrpCronModuleAsyncOptions,
  HrpCronModuleOptions,
  HrpCronModuleRootOptions,
  HrpCronSchedulerOptions,
  HrpCronWorkerOptions,
} from "./options";
export { HrpCronDashboardModule } from "./dashboardModule";
export type {
  HrpCronDashboardModuleAsyncOptions,
  HrpCronDashboardModuleOptions,
  HrpCronDashboardModuleRootOptions,
} from "./dashboardOptions";
