import type { HrpCronMigration } from "./migration";

/**
 * `hrp_cron_job.result`: a one-shot job's return value as JSON text
 * (null: not done, or the method returned nothing). Written with the job's
 * completion in the batch's transaction; deleted with the job by purge.
 * Nullable, no default: adding it rewrites no row.
 */
export const jobResults: HrpCronMigration = {
  name: "0016-job-results",
  async up({ run }) {
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN result text`);
  },
};
