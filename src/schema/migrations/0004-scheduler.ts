import type { HrpCronMigration } from "./migration";

/** Frappe-style Scheduled Job Types, their run log, and the scheduler's persisted state and leader lease. */
export const scheduler: HrpCronMigration = {
  name: "0004-scheduler",
  async up({ ddl, run }) {
    const ts = ddl.timestamp;
    await run(`CREATE TABLE scheduled_job_type (
      id ${ddl.serialPrimaryKey},
      method varchar(256) NOT NULL UNIQUE,
      frequency varchar(32) NOT NULL,
      cron_format varchar(128),
      queue varchar(64) NOT NULL DEFAULT 'default',
      user_id integer NOT NULL DEFAULT 1,
      tz varchar(64),
      stopped boolean NOT NULL DEFAULT FALSE,
      created_by varchar(16) NOT NULL DEFAULT 'admin',
      last_execution ${ts},
      last_job_id integer,
      create_date ${ts} NOT NULL
    )`);
    await run(`CREATE TABLE scheduled_job_log (
      id ${ddl.serialPrimaryKey},
      scheduled_job_type_id integer NOT NULL,
      method varchar(256) NOT NULL,
      status varchar(16) NOT NULL,
      hrp_cron_job_id integer,
      scheduled_for ${ts},
      date_start ${ts} NOT NULL,
      date_end ${ts},
      error text
    )`);
    await run(`CREATE INDEX scheduled_job_log_type_idx ON scheduled_job_log (scheduled_job_type_id, date_start)`);
    await run(`CREATE INDEX scheduled_job_log_status_idx ON scheduled_job_log (status, date_start)`);
    await run(`CREATE TABLE hrp_cron_scheduler (
      id integer PRIMARY KEY,
      enabled boolean NOT NULL DEFAULT TRUE,
      paused boolean NOT NULL DEFAULT FALSE,
      leader_id varchar(128),
      leader_until ${ts},
      last_tick ${ts}
    )`);
    await run(`INSERT INTO hrp_cron_scheduler (id, enabled, paused) VALUES (1, TRUE, FALSE)`);
  },
};
