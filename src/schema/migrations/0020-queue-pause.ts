import type { HrpCronMigration } from "./migration";

/**
 * `hrp_cron_queue_state`: queues an operator paused (Sidekiq, Oban,
 * GoodJob). A paused queue's rows are not claimed by any worker (every
 * claim statement checks this table), running ones finish; resuming lets
 * them be claimed again. One row per queue ever paused; the operator
 * action log says who did it and why.
 */
export const queuePause: HrpCronMigration = {
  name: "0020-queue-pause",
  async up({ ddl, run }) {
    await run(`CREATE TABLE hrp_cron_queue_state (
      queue varchar(64) PRIMARY KEY,
      paused boolean NOT NULL DEFAULT FALSE,
      changed_at ${ddl.timestamp} NOT NULL,
      changed_by varchar(256) NOT NULL,
      reason text
    )`);
  },
};
