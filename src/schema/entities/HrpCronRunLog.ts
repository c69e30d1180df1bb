import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { dateColumn, intColumn } from "./columns";

/** Outcome of one execution. `interrupted`: the worker died mid-run and the cron was recovered. */
export type RunOutcome = "done" | "failed" | "interrupted" | "stopped";

/** Every {@link RunOutcome}, for checks and listings. */
export const RUN_OUTCOMES: readonly RunOutcome[] = ["done", "failed", "interrupted", "stopped"];

/**
 * `hrp_cron_run_log`: one row per execution of any cron, written in the same
 * transaction as a success or in the failure-recording transaction. "What
 * ran, when, as whom, and why did it fail" is one query on this table.
 */
@Entity({ name: "hrp_cron_run_log", synchronize: false })
export class HrpCronRunLog {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column(intColumn("cron_id"))
  cronId!: number;

  @Column(intColumn("hrp_cron_job_id", { nullable: true }))
  hrpCronJobId!: number | null;

  @Column({ type: "varchar", length: 256 })
  name!: string;

  @Column({ type: "varchar", length: 128 })
  model!: string;

  @Column({ name: "function", type: "varchar", length: 128 })
  function!: string;

  /** The user the execution ran as (the cron's user). */
  @Column(intColumn("user_id"))
  userId!: number;

  @Column({ name: "worker_id", type: "varchar", length: 128 })
  workerId!: string;

  /** The `nextcall` that made the cron due (null for a forced run of a cron that was not due). */
  @Column(dateColumn("scheduled_at"))
  scheduledAt!: Date | null;

  @Column(dateColumn("date_start", { nullable: false }))
  dateStart!: Date;

  @Column(dateColumn("date_end"))
  dateEnd!: Date | null;

  @Column(intColumn("duration_ms", { nullable: true }))
  durationMs!: number | null;

  /** How many times the method was called (catch-up with `doall` may call it several times). */
  @Column(intColumn("calls", { default: 0 }))
  calls!: number;

  @Column({ type: "varchar", length: 16 })
  state!: RunOutcome;

  /** Error message and stack when the run failed or was interrupted. */
  @Column({ type: "text", nullable: true })
  error!: string | null;
}
