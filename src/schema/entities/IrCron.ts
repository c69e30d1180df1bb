import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { dateColumn, intColumn } from "./columns";
import { QueueColumns } from "./QueueColumns";
import type { IntervalType } from "../../scheduling/interval";

/**
 * `ir_cron`: one scheduled action, recurring or one-shot (Odoo's `ir.cron`).
 *
 * A cron is due when `active AND numbercall != 0 AND nextcall <= now`.
 * `running_worker` / `running_since` are the claim: set while a worker
 * executes the cron and cleared in the same transaction that records the
 * outcome. Recurrence is either `interval_number` x `interval_type` or a
 * `cron_expression`, computed in `tz` (else the user's time zone, else UTC).
 */
@Entity({ name: "ir_cron", synchronize: false })
export class IrCron extends QueueColumns {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 256 })
  name!: string;

  @Column({ type: "boolean", default: true })
  active!: boolean;

  /** The user the method runs as. */
  @Column(intColumn("user_id"))
  userId!: number;

  /**
   * Who the user was when this was created: the login (or the user
   * resolver's stable key). A run refuses to start when `user_id` now
   * resolves to someone else; null (rows from before migration 0009) is not checked.
   */
  @Column({ name: "user_key", type: "varchar", length: 256, nullable: true })
  userKey!: string | null;

  /** Lower runs first. */
  @Column(intColumn("priority", { default: 5 }))
  priority!: number;

  @Column(intColumn("interval_number", { default: 1 }))
  intervalNumber!: number;

  @Column({ name: "interval_type", type: "varchar", length: 16, default: "months" })
  intervalType!: IntervalType;

  /** Standard cron expression (5 or 6 fields); when set it replaces the interval. */
  @Column({ name: "cron_expression", type: "varchar", length: 128, nullable: true })
  cronExpression!: string | null;

  /** IANA time zone for the schedule; null means the user's tz, else UTC. */
  @Column({ type: "varchar", length: 64, nullable: true })
  tz!: string | null;

  /** Next planned execution. */
  @Column(dateColumn("nextcall", { nullable: false }))
  nextcall!: Date;

  /**
   * The wall-clock time `nextcall` stands for (`YYYY-MM-DDTHH:MM:SS.SSS`, in
   * the schedule's zone) when a DST gap skipped it and `nextcall` was moved
   * forward by the gap; null otherwise. Ignored once `nextcall` no longer
   * matches it (an operator moved the cron).
   */
  @Column({ name: "nextcall_wall", type: "varchar", length: 23, nullable: true })
  nextcallWall!: string | null;

  /** Start of the last successful execution. */
  @Column(dateColumn("lastcall"))
  lastcall!: Date | null;

  /** Executions left; -1 means unlimited, 0 means finished. */
  @Column(intColumn("numbercall", { default: -1 }))
  numbercall!: number;

  /** Run missed occurrences after downtime (true) or only once (false). */
  @Column({ type: "boolean", default: false })
  doall!: boolean;

  @Column({ type: "varchar", length: 128 })
  model!: string;

  @Column({ name: "function", type: "varchar", length: 128 })
  function!: string;

  /** JSON array of positional arguments. */
  @Column({ type: "text", default: "[]" })
  args!: string;

  /** Set for the one-shot cron created by `runByCron`. */
  @Column(intColumn("hrp_cron_job_id", { nullable: true }))
  hrpCronJobId!: number | null;

  /** Consecutive failures; reset by a success. */
  @Column(intColumn("failure_count", { default: 0 }))
  failureCount!: number;

  @Column(dateColumn("first_failure_date"))
  firstFailureDate!: Date | null;

  /** Worker currently executing this cron (the claim), null when idle. */
  @Column({ name: "running_worker", type: "varchar", length: 128, nullable: true })
  runningWorker!: string | null;

  @Column(dateColumn("running_since"))
  runningSince!: Date | null;

  @Column(intColumn("create_uid", { nullable: true }))
  createUid!: number | null;

  @Column(dateColumn("create_date"))
  createDate!: Date | null;

  @Column(dateColumn("write_date"))
  writeDate!: Date | null;

  /** Set by `stopJob`: the worker running it aborts the run. */
  @Column({ name: "stop_requested", type: "boolean", default: false })
  stopRequested!: boolean;

  /** Worker deaths attributed to this cron's runs (see `suspect`); reset by a success and by `retryJob`. */
  @Column(intColumn("crash_count", { default: 0 }))
  crashCount!: number;

  /** Its claim died with its worker, unattributed: it next runs alone, after committing `suspectStarted`. */
  @Column({ type: "boolean", default: false })
  suspect!: boolean;

  /** Committed before a suspect's lone run starts: a worker death while set is this cron's crash. */
  @Column({ name: "suspect_started", type: "boolean", default: false })
  suspectStarted!: boolean;

  /** The schedule's own next call while `trigger` moved `nextcall` forward; the schedule resumes from it. */
  @Column(dateColumn("planned_nextcall"))
  plannedNextcall!: Date | null;

  /** Set by the cron's own run (`trigger(env.cronId)`): due again as soon as this run is recorded. */
  @Column({ type: "boolean", default: false })
  retrigger!: boolean;

  /**
   * When a worker first handed this cron back because no live worker serves
   * its method (rolling deploys); null while one does. See `unknownMethodGraceMs`.
   */
  @Column(dateColumn("unserved_since"))
  unservedSince!: Date | null;
}
