import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { dateColumn, intColumn } from "./columns";

/**
 * `scheduled_job_type`: a recurring method the scheduler enqueues (Frappe's
 * Scheduled Job Type). Declared by the app (`schedulerEvents`, `created_by =
 * 'app'`, synced on start) or created at run time (`created_by = 'admin'`).
 */
@Entity({ name: "scheduled_job_type", synchronize: false })
export class ScheduledJobType {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  /** Registered `model.method`. */
  @Column({ type: "varchar", length: 256, unique: true })
  method!: string;

  /** `All`, `Hourly`, `Daily`, `Weekly`, `Monthly`, `Yearly` (each optionally `... Long`) or `Cron`. */
  @Column({ type: "varchar", length: 32 })
  frequency!: string;

  /** The cron expression when `frequency` is `Cron`. */
  @Column({ name: "cron_format", type: "varchar", length: 128, nullable: true })
  cronFormat!: string | null;

  @Column({ type: "varchar", length: 64, default: "default" })
  queue!: string;

  @Column(intColumn("user_id", { default: 1 }))
  userId!: number;

  /**
   * Who the user was when this was created: the login (or the user
   * resolver's stable key). A run refuses to start when `user_id` now
   * resolves to someone else; null (rows from before migration 0009) is not checked.
   */
  @Column({ name: "user_key", type: "varchar", length: 256, nullable: true })
  userKey!: string | null;

  /** IANA zone the schedule is read in; null = UTC. */
  @Column({ type: "varchar", length: 64, nullable: true })
  tz!: string | null;

  @Column({ type: "boolean", default: false })
  stopped!: boolean;

  @Column({ name: "created_by", type: "varchar", length: 16, default: "admin" })
  createdBy!: "app" | "admin";

  @Column(dateColumn("last_execution"))
  lastExecution!: Date | null;

  @Column(intColumn("last_job_id", { nullable: true }))
  lastJobId!: number | null;

  @Column(dateColumn("create_date", { nullable: false }))
  createDate!: Date;
}

/** `scheduled_job_log`: one row per scheduled run, `Start` then `Complete` or `Failed` (with the error). */
@Entity({ name: "scheduled_job_log", synchronize: false })
export class ScheduledJobLog {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column(intColumn("scheduled_job_type_id"))
  scheduledJobTypeId!: number;

  @Column({ type: "varchar", length: 256 })
  method!: string;

  @Column({ type: "varchar", length: 16 })
  status!: "Start" | "Complete" | "Failed";

  @Column(intColumn("hrp_cron_job_id", { nullable: true }))
  hrpCronJobId!: number | null;

  @Column(dateColumn("scheduled_for"))
  scheduledFor!: Date | null;

  @Column(dateColumn("date_start", { nullable: false }))
  dateStart!: Date;

  @Column(dateColumn("date_end"))
  dateEnd!: Date | null;

  @Column({ type: "text", nullable: true })
  error!: string | null;
}
