import { defaultDataSourceOptions, defineConfig, ENTITIES, ResUsers } from "hrp-cron";
import { approveApplications } from "./app";
import { AssetReceivingApplication, EXAMPLE_ENTITIES } from "./entities";
import { APPLICATION_MODEL, exampleRegistry } from "./models";
import { CreateAssetReceivingTables1767225600000 } from "./migrations";

/**
 * `npm start` runs the worker with this config on `./hrp-cron.sqlite`
 * (`HRP_CRON_DB` picks another file or a postgres:// URL). On the first start
 * it seeds an approver (Asia/Shanghai), three applications — two are
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
  // The seed's hooks.py scheduler_events, translated.
  schedulerEvents: {
    hourly: ["hrp.scheduled_tasks.updateDatabaseUsage"],
    daily_long: ["hrp.scheduled_tasks.takeBackupsDaily"],
    cron: { "0 2 * * *": ["hrp.scheduled_tasks.cleanupLogs"] },
  },
  async setup({ dataSource, service }) {
    await dataSource.runMigrations();
    if ((await dataSource.manager.count(AssetReceivingApplication)) > 0) return;
    const approver = await dataSource.manager.save(
      dataSource.manager.create(ResUsers, {
        login: "zhang.wei",
        name: "Zhang Wei",
        active: true,
        tz: "Asia/Shanghai",
        createDate: new Date(),
      }),
    );
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
