import type { HrpCronMigration } from "./migration";

/**
 * Audit indexes that cost a write per job version without serving a query.
 *
 * A job's rows change state several times (pending, running, done); every
 * version adds an entry to every index whose predicate it matches. Indexes
 * that only the rare states need are made partial, so the common path
 * (pending -> running -> done) stops paying for them:
 *
 * - `hrp_cron_job_state_idx` becomes `(state, id)` over the states people
 *   look for (pending, failed, stopped, cancelled), matching `listJobs`'
 *   newest-first order. `done` and `running` jobs are listed by walking the
 *   primary key from the newest (they are the common and the recent rows).
 * - `hrp_cron_job_create_date_idx` is dropped: no query filters on
 *   `create_date`; dates are filtered on `date_created`
 *   (`hrp_cron_job_user_idx`, `hrp_cron_job_queue_idx`).
 * - `ir_cron_model_idx` covers schedules only (`hrp_cron_job_id IS NULL`):
 *   a one-shot row is found through its job (`ir_cron_job_idx`).
 * - `hrp_cron_run_log_state_idx` covers runs that did not end `done`
 *   (failures, interruptions, stops), which is what the state is asked for.
 */
export const leanAuditIndexes: HrpCronMigration = {
  name: "0007-lean-audit-indexes",
  async up({ run }) {
    await run(`DROP INDEX hrp_cron_job_state_idx`);
    await run(`CREATE INDEX hrp_cron_job_state_idx ON hrp_cron_job (state, id) WHERE state NOT IN ('running', 'done')`);
    await run(`DROP INDEX hrp_cron_job_create_date_idx`);
    await run(`DROP INDEX ir_cron_model_idx`);
    await run(`CREATE INDEX ir_cron_model_idx ON ir_cron (model, function) WHERE hrp_cron_job_id IS NULL`);
    await run(`DROP INDEX hrp_cron_run_log_state_idx`);
    await run(`CREATE INDEX hrp_cron_run_log_state_idx ON hrp_cron_run_log (state, date_start) WHERE state <> 'done'`);
  },
};
