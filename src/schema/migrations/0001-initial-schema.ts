import type { HrpCronMigration } from "./migration";
import { createUsersTable } from "./usersTable";

/**
 * ir_cron, hrp_cron_job, run log, workers and — unless the application
 * resolves users itself (`usersTable` false) — res_users with Administrator
 * as id 1. (Before `usersTable` existed it was always created; a database
 * first migrated without it gets it later from `migrate()`'s users step.)
 */
export const initialSchema: HrpCronMigration = {
  name: "0001-initial-schema",
  async up({ ddl, run, usersTable }) {
    const ts = ddl.timestamp;
    if (usersTable) await createUsersTable({ ddl, run });

    await run(`CREATE TABLE hrp_cron_job (
      id ${ddl.serialPrimaryKey},
      name varchar(256) NOT NULL,
      model varchar(128) NOT NULL,
      function varchar(128) NOT NULL,
      args text NOT NULL DEFAULT '[]',
      priority integer NOT NULL DEFAULT 10,
      user_id integer NOT NULL,
      date_created ${ts} NOT NULL,
      state varchar(16) NOT NULL DEFAULT 'pending',
      date_started ${ts},
      date_done ${ts},
      exc_info text,
      create_uid integer,
      create_date ${ts}
    )`);
    await run(`CREATE INDEX hrp_cron_job_state_idx ON hrp_cron_job (state, date_created)`);
    await run(`CREATE INDEX hrp_cron_job_model_idx ON hrp_cron_job (model, function)`);
    await run(`CREATE INDEX hrp_cron_job_user_idx ON hrp_cron_job (user_id, date_created)`);
    await run(`CREATE INDEX hrp_cron_job_create_date_idx ON hrp_cron_job (create_date)`);

    await run(`CREATE TABLE ir_cron (
      id ${ddl.serialPrimaryKey},
      name varchar(256) NOT NULL,
      active boolean NOT NULL DEFAULT TRUE,
      user_id integer NOT NULL,
      priority integer NOT NULL DEFAULT 5,
      interval_number integer NOT NULL DEFAULT 1,
      interval_type varchar(16) NOT NULL DEFAULT 'months',
      cron_expression varchar(128),
      tz varchar(64),
      nextcall ${ts} NOT NULL,
      lastcall ${ts},
      numbercall integer NOT NULL DEFAULT -1,
      doall boolean NOT NULL DEFAULT FALSE,
      model varchar(128) NOT NULL,
      function varchar(128) NOT NULL,
      args text NOT NULL DEFAULT '[]',
      hrp_cron_job_id integer REFERENCES hrp_cron_job (id) ON DELETE CASCADE,
      failure_count integer NOT NULL DEFAULT 0,
      first_failure_date ${ts},
      running_worker varchar(128),
      running_since ${ts},
      create_uid integer,
      create_date ${ts},
      write_date ${ts},
      CHECK (interval_number >= 1),
      CHECK (numbercall >= -1)
    )`);
    // The dispatcher's due query: only active crons with calls left, in run order.
    await run(
      `CREATE INDEX ir_cron_due_idx ON ir_cron (priority, nextcall, id) WHERE active = TRUE AND numbercall <> 0 AND running_worker IS NULL`,
    );
    await run(`CREATE INDEX ir_cron_running_idx ON ir_cron (running_worker) WHERE running_worker IS NOT NULL`);
    await run(`CREATE INDEX ir_cron_job_idx ON ir_cron (hrp_cron_job_id)`);
    await run(`CREATE INDEX ir_cron_model_idx ON ir_cron (model, function)`);

    await run(`CREATE TABLE hrp_cron_run_log (
      id ${ddl.serialPrimaryKey},
      cron_id integer NOT NULL,
      hrp_cron_job_id integer,
      name varchar(256) NOT NULL,
      model varchar(128) NOT NULL,
      function varchar(128) NOT NULL,
      user_id integer NOT NULL,
      worker_id varchar(128) NOT NULL,
      scheduled_at ${ts},
      date_start ${ts} NOT NULL,
      date_end ${ts},
      duration_ms integer,
      calls integer NOT NULL DEFAULT 0,
      state varchar(16) NOT NULL,
      error text
    )`);
    await run(`CREATE INDEX hrp_cron_run_log_cron_idx ON hrp_cron_run_log (cron_id, date_start)`);
    await run(`CREATE INDEX hrp_cron_run_log_state_idx ON hrp_cron_run_log (state, date_start)`);
    await run(`CREATE INDEX hrp_cron_run_log_user_idx ON hrp_cron_run_log (user_id, date_start)`);
    await run(`CREATE INDEX hrp_cron_run_log_model_idx ON hrp_cron_run_log (model, function, date_start)`);
    await run(`CREATE INDEX hrp_cron_run_log_job_idx ON hrp_cron_run_log (hrp_cron_job_id)`);

    await run(`CREATE TABLE hrp_cron_worker (
      id varchar(128) PRIMARY KEY,
      hostname varchar(128) NOT NULL,
      pid integer NOT NULL,
      started_at ${ts} NOT NULL,
      last_seen_at ${ts} NOT NULL
    )`);
  },
};
