import type { HrpCronMigration } from "./migration";

/**
 * Indexes that cost a write per job without serving a query. Every row
 * version of a job (pending, running, done) adds an entry to each index whose
 * predicate it matches, so:
 *
 * - `hrp_cron_job_create_date_idx` is dropped: no query filters on
 *   `create_date`; dates are filtered on `date_created`
 *   (`hrp_cron_job_user_idx`, `hrp_cron_job_queue_idx`, `hrp_cron_job_state_idx`).
 * - `ir_cron_model_idx` covers schedules only (`hrp_cron_job_id IS NULL`):
 *   the one-shot row of a job is found through its job (`ir_cron_job_idx`),
 *   and jobs by method through `hrp_cron_job_model_idx`. A query for
 *   schedules by method says `hrp_cron_job_id IS NULL` to use it (SQLite and
 *   PostgreSQL use a partial index only when the query implies its predicate).
 *
 * State indexes stay whole: SQLite cannot use a partial index for
 * `state = ?` unless the query repeats the index's predicate, and auditors'
 * plain queries by state must stay indexed on both databases.
 */
export const leanAuditIndexes: HrpCronMigration = {
  name: "0007-lean-audit-indexes",
  async up({ run }) {
    await run(`DROP INDEX hrp_cron_job_create_date_idx`);
    await run(`DROP INDEX ir_cron_model_idx`);
    await run(`CREATE INDEX ir_cron_model_idx ON ir_cron (model, function) WHERE hrp_cron_job_id IS NULL`);
  },
};
