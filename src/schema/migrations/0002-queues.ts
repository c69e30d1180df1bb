import type { HrpCronMigration } from "./migration";

/**
 * Queue tasks (Frappe `enqueue`) run on the same engine: a queue job is an
 * `hrp_cron_job` row (`kind = 'queue'`) with a one-shot `ir_cron` row, both
 * carrying the queue, the timeout and the concurrency key/limit the claim
 * needs. `stop_requested` lets an operator stop a running job.
 */
export const queues: HrpCronMigration = {
  name: "0002-queues",
  async up({ run }) {
    for (const table of ["ir_cron", "hrp_cron_job"]) {
      await run(`ALTER TABLE ${table} ADD COLUMN queue varchar(64) NOT NULL DEFAULT 'default'`);
      await run(`ALTER TABLE ${table} ADD COLUMN timeout_ms integer`);
      await run(`ALTER TABLE ${table} ADD COLUMN concurrency_key varchar(128)`);
      await run(`ALTER TABLE ${table} ADD COLUMN concurrency_limit integer`);
    }
    await run(`ALTER TABLE ir_cron ADD COLUMN stop_requested boolean NOT NULL DEFAULT FALSE`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'cron'`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN job_key varchar(256)`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN max_retries integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN attempts integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN retry_backoff_ms text`);
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN worker_id varchar(128)`);

    // The claim per queue, in run order, over ready rows only.
    await run(
      `CREATE INDEX ir_cron_queue_due_idx ON ir_cron (queue, priority, nextcall, id) WHERE active = TRUE AND numbercall <> 0 AND running_worker IS NULL`,
    );
    // Running counts per key and per queue, for the concurrency limits.
    await run(`CREATE INDEX ir_cron_running_key_idx ON ir_cron (concurrency_key) WHERE running_worker IS NOT NULL`);
    await run(`CREATE INDEX ir_cron_running_queue_idx ON ir_cron (queue) WHERE running_worker IS NOT NULL`);
    // Deduplication: one live (pending or running) job per job_key.
    await run(
      `CREATE UNIQUE INDEX hrp_cron_job_live_key_idx ON hrp_cron_job (job_key) WHERE job_key IS NOT NULL AND state IN ('pending', 'running')`,
    );
    await run(`CREATE INDEX hrp_cron_job_queue_idx ON hrp_cron_job (queue, state, date_created)`);
  },
};
