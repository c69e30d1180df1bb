import type { HrpCronMigration } from "./migration";

/**
 * Since migration 0014 the job row is what the dispatcher claims, so every
 * job writes three row versions of it (pending, running, done), and none of
 * those updates can be HOT: they change `state`, which indexes read. Each
 * index whose predicate a version matches costs an entry (and a WAL record)
 * per version. What stays, and why:
 *
 * - the primary key; `hrp_cron_job_ready_idx` and the keyed probe (pending
 *   jobs only: the claim); `hrp_cron_job_running_idx` (claimed jobs only:
 *   recovery's claim listing, queue limits) and the key-count index (keyed
 *   claimed jobs only); `hrp_cron_job_live_key_idx` (keyed live jobs only:
 *   deduplication);
 * - the audit indexes `hrp_cron_job_model_idx` (jobs by method),
 *   `hrp_cron_job_user_idx` (jobs by user) and `hrp_cron_job_state_idx`
 *   (partial since 0007 where the planner proves it).
 *
 * `hrp_cron_job_queue_idx (queue, state, date_created)` served listings by
 * queue and state; where the planner proves partial indexes (PostgreSQL) it
 * now covers only the states people look for, as the state index does
 * (pending, failed, stopped, cancelled): the `running` and `done` versions
 * of every job no longer add entries to it. Listing a queue's done or
 * running jobs walks the primary key from the newest. On SQLite, which
 * would not use it for a plain `queue = ?`, it stays whole.
 */
export const leanJobIndexes: HrpCronMigration = {
  name: "0015-lean-job-indexes",
  async up({ run, ddl }) {
    if (!ddl.provesPartialIndexes) return;
    await run(`DROP INDEX hrp_cron_job_queue_idx`);
    await run(
      `CREATE INDEX hrp_cron_job_queue_idx ON hrp_cron_job (queue, state, date_created) WHERE state NOT IN ('running', 'done')`,
    );
  },
};
