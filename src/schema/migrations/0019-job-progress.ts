import type { HrpCronMigration } from "./migration";

/**
 * A job's progress as its method reports it (`env.progress(done, total,
 * message)`): written by the worker in transactions of their own, outside
 * the job's, so it is visible while the job runs (PostgreSQL) and stays when
 * the job's transaction rolls back. Nullable, no default: adding the
 * columns rewrites no row.
 */
export const jobProgress: HrpCronMigration = {
  name: "0019-job-progress",
  async up({ ddl, run }) {
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN progress_done integer`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN progress_total integer`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN progress_message varchar(500)`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN progress_at ${ddl.timestamp}`);
  },
};
