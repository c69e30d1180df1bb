import type { HrpCronMigration } from "./migration";

/**
 * `user_key`: who a job's user was when the job was created (the login, or
 * the user resolver's stable key), on jobs, crons and Scheduled Job Types. A
 * run refuses to start when the stored user id now resolves to someone else
 * (the user was deleted and the id reused). Existing rows stay NULL and are
 * not checked.
 */
export const userKey: HrpCronMigration = {
  name: "0009-user-key",
  async up({ run }) {
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN user_key varchar(256)`);
    await run(`ALTER TABLE ir_cron ADD COLUMN user_key varchar(256)`);
    await run(`ALTER TABLE scheduled_job_type ADD COLUMN user_key varchar(256)`);
  },
};
