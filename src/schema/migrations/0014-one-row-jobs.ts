import type { HrpCronMigration } from "./migration";

/**
 * One row per job: a one-shot job (`runByCron`, `enqueue`) is claimed and
 * run from its own `hrp_cron_job` row, which goes `pending` → `running` →
 * `done`. Until now every job also had a one-shot `ir_cron` twin updated in
 * lockstep (claimed, released, finished), so a job cost seven row versions
 * (two inserts, the twin's claim, the job's `running`, the twin's and the
 * job's completion, the run log) where one row needs three.
 *
 * - The lifecycle the twin carried moves to the job: `nextcall` (when it is
 *   due: its first run, or a retry after its backoff), the claim
 *   (`running_worker`, `running_since`), `stop_requested`,
 *   `failure_count`, `crash_count`, `suspect`, `suspect_started`,
 *   `unserved_since`; each job gets its twin's values.
 * - A queue job's twin is deleted (its runs' history stays in
 *   `hrp_cron_run_log`, as after `deleteCron`). A `runByCron` job keeps its
 *   `ir_cron` row, the seed's shape, as a record the claim never reads:
 *   `ir_cron`'s ready indexes now leave out rows with a job, and the engine
 *   finishes the row (inactive) when its job ends.
 * - States the twin decided are made explicit on the job: a job `running`
 *   whose twin was not claimed is `pending` again (its run never
 *   committed); a pending job whose twin could not run (deactivated by an
 *   operator, spent, or deleted) is `cancelled`, with the reason in
 *   `exc_info` (`retryJob` runs it). A claim of a dead worker moves to its
 *   job, and recovery releases it as before.
 * - New indexes: the jobs' ready indexes (`(queue, priority, nextcall, id)`
 *   and the keyed probe, over pending jobs only) and their claim indexes
 *   (per queue, and per concurrency key over keyed jobs only).
 * - `hrp_cron_runs` is redefined: a done job's run is due at its `nextcall`,
 *   and a queue job's `cron_id` is 0 (it has no `ir_cron` row), as in the
 *   run log.
 */
export const oneRowJobs: HrpCronMigration = {
  name: "0014-one-row-jobs",
  async up({ run, ddl }) {
    const ts = ddl.timestamp;
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN nextcall ${ts}`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN running_worker varchar(128)`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN running_since ${ts}`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN stop_requested boolean NOT NULL DEFAULT FALSE`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN failure_count integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN crash_count integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN suspect boolean NOT NULL DEFAULT FALSE`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN suspect_started boolean NOT NULL DEFAULT FALSE`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN unserved_since ${ts}`);

    // Each job takes its twin's lifecycle; a finished job is due when it was created (its run's record says so).
    await run(`UPDATE hrp_cron_job
                  SET nextcall = CASE WHEN hrp_cron_job.state IN ('pending', 'running') THEN c.nextcall ELSE hrp_cron_job.date_created END,
                      running_worker = CASE WHEN hrp_cron_job.state = 'running' THEN c.running_worker END,
                      running_since = CASE WHEN hrp_cron_job.state = 'running' THEN c.running_since END,
                      stop_requested = CASE WHEN hrp_cron_job.state = 'running' THEN c.stop_requested ELSE FALSE END,
                      failure_count = c.failure_count, crash_count = c.crash_count, suspect = c.suspect,
                      suspect_started = c.suspect_started, unserved_since = c.unserved_since
                 FROM ir_cron c WHERE c.hrp_cron_job_id = hrp_cron_job.id`);
    await run(`UPDATE hrp_cron_job SET nextcall = date_created WHERE nextcall IS NULL`);
    // A running job whose twin was not claimed: its run never committed, it is due again.
    await run(
      `UPDATE hrp_cron_job SET state = 'pending', date_started = NULL WHERE state = 'running' AND running_worker IS NULL`,
    );
    // A pending job whose twin could not run was held back by an operator (or its cron deleted): that decision stays.
    await run(`UPDATE hrp_cron_job
                  SET state = 'cancelled', date_done = CURRENT_TIMESTAMP,
                      exc_info = 'Cancelled by migration 0014: its ir_cron row was inactive, spent or deleted, so it could not run; retryJob runs it'
                                 || CASE WHEN exc_info IS NULL THEN '' ELSE ' (last error: ' || exc_info || ')' END
                WHERE state = 'pending'
                  AND NOT EXISTS (SELECT 1 FROM ir_cron c WHERE c.hrp_cron_job_id = hrp_cron_job.id AND c.active = TRUE AND c.numbercall <> 0)`);

    // Twins: a queue job's is gone; a runByCron job's is a record, never claimed.
    await run(`DELETE FROM ir_cron WHERE hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE kind = 'queue')`);
    await run(`UPDATE ir_cron SET running_worker = NULL, running_since = NULL, stop_requested = FALSE, suspect = FALSE,
                      suspect_started = FALSE, unserved_since = NULL, retrigger = FALSE
                WHERE hrp_cron_job_id IS NOT NULL`);
    await run(`UPDATE ir_cron SET active = FALSE
                WHERE hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE state NOT IN ('pending', 'running'))`);

    // ir_cron's ready indexes: recurring crons only.
    await run(`DROP INDEX ir_cron_queue_due_idx`);
    await run(
      `CREATE INDEX ir_cron_queue_due_idx ON ir_cron (queue, priority, nextcall, id)
        WHERE active = TRUE AND numbercall <> 0 AND running_worker IS NULL AND hrp_cron_job_id IS NULL`,
    );
    await run(`DROP INDEX ir_cron_keyed_due_idx`);
    await run(
      `CREATE INDEX ir_cron_keyed_due_idx ON ir_cron (nextcall)
        WHERE active = TRUE AND numbercall <> 0 AND running_worker IS NULL AND hrp_cron_job_id IS NULL AND concurrency_key IS NOT NULL`,
    );
    // The jobs' ready and claim indexes.
    await run(
      `CREATE INDEX hrp_cron_job_ready_idx ON hrp_cron_job (queue, priority, nextcall, id) WHERE state = 'pending'`,
    );
    await run(
      `CREATE INDEX hrp_cron_job_keyed_ready_idx ON hrp_cron_job (nextcall) WHERE state = 'pending' AND concurrency_key IS NOT NULL`,
    );
    await run(`CREATE INDEX hrp_cron_job_running_idx ON hrp_cron_job (queue) WHERE running_worker IS NOT NULL`);
    await run(
      `CREATE INDEX hrp_cron_job_running_key_idx ON hrp_cron_job (concurrency_key)
        WHERE running_worker IS NOT NULL AND concurrency_key IS NOT NULL`,
    );

    await run(`DROP VIEW hrp_cron_runs`);
    await run(`CREATE VIEW hrp_cron_runs AS
      SELECT r.id AS run_log_id, r.cron_id, r.hrp_cron_job_id, r.name, r.model, r.function, r.user_id, r.worker_id,
             r.scheduled_at, r.date_start, r.date_end, r.duration_ms, r.calls, r.state, r.error
        FROM hrp_cron_run_log r
      UNION ALL
      SELECT NULL, COALESCE(c.id, 0), j.id, j.name, j.model, j.function, j.user_id, j.worker_id,
             j.nextcall, j.date_started, j.date_done, ${ddl.msBetween("j.date_started", "j.date_done")}, 1, 'done', NULL
        FROM hrp_cron_job j LEFT JOIN ir_cron c ON c.hrp_cron_job_id = j.id
       WHERE j.state = 'done'
         AND NOT EXISTS (SELECT 1 FROM hrp_cron_run_log l WHERE l.hrp_cron_job_id = j.id AND l.state = 'done')`);
  },
};
