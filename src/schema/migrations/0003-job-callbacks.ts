import type { HrpCronMigration } from "./migration";

/** Frappe's `on_success` / `on_failure`: registered `model.method` names called after a queue job ends. */
export const jobCallbacks: HrpCronMigration = {
  name: "0003-job-callbacks",
  async up({ run }) {
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN on_success varchar(256)`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN on_failure varchar(256)`);
  },
};
