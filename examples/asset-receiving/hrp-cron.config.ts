import { randomUUID } from "node:crypto";
import { defaultDataSourceOptions, defineConfig, ENTITIES } from "hrp-cron";
import { approveApplications } from "./app";
import { AppUser, AssetReceivingApplication, EXAMPLE_ENTITIES } from "./entities";
import { APPLICATION_MODEL, exampleRegistry } from "./models";
import { CreateAssetReceivingTables1767225600000 } from "./migrations";
import { appUserResolver } from "./users";

/**
 * `npm start` runs the worker with this config on `./hrp-cron.sqlite`
 * (`HRP_CRON_DB` picks another file or a postgres:// URL). On the first start
 * it seeds its users (a system user, id 1, which the scheduler's jobs run as,
 * and an approver in Asia/Shanghai) in its own `app_user` table, three applications — two are
 * approved now, one 30 s from now as in the seed, and one has amount 0 so its
 * job fails visibly — and a recurring "0 2 * * *" cron.
 */
export default defineConfig({
  dataSource: () => ({
    ...defaultDataSourceOptions(process.env, [...ENTITIES, ...EXAMPLE_ENTITIES]),
    // The app's own tables come from its own TypeORM migrations (hrp-cron's from migrate(), which the CLI runs).
    migrations: [CreateAssetReceivingTables1767225600000],
  }),
  registry: () => exampleRegistry(),
  // Jobs run as the app's own users; with a resolver the CLI creates no res_users table.
  userResolver: appUserResolver,
  // The seed's hooks.py scheduler_events, translated.
  schedulerEvents: {
    hourly: ["hrp.scheduled_tasks.updateDatabaseUsage"],
    daily_long: ["hrp.scheduled_tasks.takeBackupsDaily"],
    cron: { "0 2 * * *": ["hrp.scheduled_tasks.cleanupLogs"] },
  },
  async setup({ dataSource, service }) {
    await dataSource.runMigrations();
    if ((await dataSource.manager.count(AssetReceivingApplication)) > 0) return;
    const [, approver] = await dataSource.manager.save(AppUser, [
      { username: "system", fullName: "System", enabled: true, tz: null, uuid: randomUUID() },
      { username: "zhang.wei", fullName: "Zhang Wei", enabled: true, tz: "Asia/Shanghai", uuid: randomUUID() },
    ]);
    const [a, b, c] = await dataSource.manager.save(AssetReceivingApplication, [
      { name: "ARA-0001", amount: 1_250_000, state: "draft" as const, approvedUid: null },
      { name: "ARA-0002", amount: 0, state: "draft" as const, approvedUid: null },
      { name: "ARA-0003", amount: 86_000, state: "draft" as const, approvedUid: null },
    ]);
    await approveApplications(dataSource, service, [a.id], approver.id, 0);
    await approveApplications(dataSource, service, [b.id], approver.id, 0);
    await approveApplications(dataSource, service, [c.id], approver.id, 30_000);
    await service.createCron({
      name: "Daily asset depreciation",
      model: APPLICATION_MODEL,
      function: "dailyDepreciation",
      cronExpression: "0 2 * * *",
      userId: approver.id,
    });
  },
});
