import type { HrpCronMigration } from "./migration";

/**
 * Indexes that cost a write per job without serving a query. Every row
 * version of a job (pending, running, done) adds an entry to each index whose
 * predicate it matches, so:
 *
 * - `hrp_cron_job_create_date_idx` is dropped: no query filters on
 *   `create_date`; dates are filtered on `date_created`.
 * - `ir_cron_model_idx` covers schedules only (`hrp_cron_job_id IS NULL`):
 *   the one-shot row of a job is found through its job (`ir_cron_job_idx`),
 *   and jobs by method through `hrp_cron_job_model_idx`. A query for
 *   schedules by method says `hrp_cron_job_id IS NULL` to use it.
 * - Where the planner proves partial indexes (PostgreSQL), the state indexes
 *   cover only the states people look for: jobs pending, failed, stopped or
 *   cancelled, as `(state, id)` for `listJobs`' newest-first order (`done`
 *   and `running` jobs are the common and the recent rows: found by walking
 *   the primary key from the newest), and runs that did not end `done`. On
 *   SQLite, which would not use them for a plain `state = ?`, they stay
 *   whole; the job state index becomes `(state, id)` there too.
 */
export const leanAuditIndexes: HrpCronMigration = {
  name: "0007-lean-audit-indexes",
  async up({ run, ddl }) {
    await run(`DROP INDEX hrp_cron_job_create_date_idx`);
    await run(`DROP INDEX ir_cron_model_idx`);
    await run(`CREATE INDEX ir_cron_model_idx ON ir_cron (model, function) WHERE hrp_cron_job_id IS NULL`);
    await run(`DROP INDEX hrp_cron_job_state_idx`);
    await run(
      `CREATE INDEX hrp_cron_job_state_idx ON hrp_cron_job (state, id)${ddl.provesPartialIndexes ? " WHERE state NOT IN ('running', 'done')" : ""}`,
    );
    if (ddl.provesPartialIndexes) {
      await run(`DROP INDEX hrp_cron_run_log_state_idx`);
      await run(
        `CREATE INDEX hrp_cron_run_log_state_idx ON hrp_cron_run_log (state, date_start) WHERE state <> 'done'`,
      );
    }
  },
};
