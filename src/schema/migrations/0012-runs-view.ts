import type { HrpCronMigration } from "./migration";

/**
 * `hrp_cron_runs`: every run, in one place for auditors (what ran, when, as
 * whom, how it ended, and why it failed).
 *
 * A successful run of a one-shot job (`runByCron`, `enqueue`) no longer
 * writes an `hrp_cron_run_log` row: its job row already says it all
 * (`state = 'done'`, `date_started`, `date_done`, `worker_id`, `user_id`), so
 * the row version and its six index entries were pure cost on the path every
 * job takes. Everything else still writes a run-log row: every run of a
 * recurring cron, and every failed, stopped or interrupted run of a job (the
 * rare paths keep their full history, attempt by attempt).
 *
 * The view is the union of both: the run-log rows (`run_log_id` set), and
 * the done one-shot jobs whose success is not in the run log (`run_log_id`
 * null: those done before this migration are in the run log already and are
 * not counted twice). `scheduled_at` of a job's run is its due date
 * (`date_created`) and `calls` is 1.
 */
export const runsView: HrpCronMigration = {
  name: "0012-runs-view",
  async up({ run, ddl }) {
    await run(`CREATE VIEW hrp_cron_runs AS
      SELECT r.id AS run_log_id, r.cron_id, r.hrp_cron_job_id, r.name, r.model, r.function, r.user_id, r.worker_id,
             r.scheduled_at, r.date_start, r.date_end, r.duration_ms, r.calls, r.state, r.error
        FROM hrp_cron_run_log r
      UNION ALL
      SELECT NULL, c.id, j.id, j.name, j.model, j.function, j.user_id, j.worker_id,
             j.date_created, j.date_started, j.date_done, ${ddl.msBetween("j.date_started", "j.date_done")}, 1, 'done', NULL
        FROM hrp_cron_job j LEFT JOIN ir_cron c ON c.hrp_cron_job_id = j.id
       WHERE j.state = 'done'
         AND NOT EXISTS (SELECT 1 FROM hrp_cron_run_log l WHERE l.hrp_cron_job_id = j.id AND l.state = 'done')`);
  },
};
