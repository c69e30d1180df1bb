import { In, LessThan } from "typeorm";
import { HrpCronRunLog, ModelRegistry, type JobEnv } from "hrp-cron";
import { AccountMove, AssetReceivingApplication } from "./entities";

export const APPLICATION_MODEL = "hrp.asset.receiving.application";

/**
 * The example's job methods. `createAssetAcceptanceAccountMove` mirrors the
 * seed's `create_asset_acceptance_account_move`: it runs as the approving user,
 * writes through `env.manager` (the job's transaction) and refuses an
 * application with a non-positive amount — that run fails, its writes roll
 * back, and the failure is in `hrp_cron_job.exc_info` and the run log.
 */
export function exampleRegistry(registry = new ModelRegistry()): ModelRegistry {
  // Scheduled tasks declared in hrp-cron.config.ts (schedulerEvents), as in the seed's hooks.py.
  registry.register("hrp.scheduled_tasks", {
    async updateDatabaseUsage(env: JobEnv) {
      return env.manager.count(AccountMove);
    },
    async takeBackupsDaily() {
      // A long job: would copy the database file somewhere safe.
    },
    async cleanupLogs(env: JobEnv) {
      // Keep 90 days of run log.
      await env.manager.delete(HrpCronRunLog, { dateStart: LessThan(new Date(env.now.getTime() - 90 * 86_400_000)) });
    },
  });
  return registry.register(APPLICATION_MODEL, {
    async createAssetAcceptanceAccountMove(env: JobEnv, ids: number[]) {
      const applications = await env.manager.findBy(AssetReceivingApplication, { id: In(ids) });
      for (const application of applications) {
        if (application.state !== "approved") continue;
        if (application.amount <= 0) {
          throw new Error(
            `application ${application.name} has amount ${application.amount}; an account move needs a positive amount`,
          );
        }
        await env.manager.insert(AccountMove, {
          ref: `AM/${application.name}`,
          applicationId: application.id,
          amount: application.amount,
          createUid: env.uid,
        });
        await env.manager.update(AssetReceivingApplication, { id: application.id }, { state: "posted" });
      }
    },

    /** A recurring job: counts posted applications (stands in for daily depreciation). */
    async dailyDepreciation(env: JobEnv) {
      const posted = await env.manager.countBy(AssetReceivingApplication, { state: "posted" });
      return posted;
    },
  });
}
