import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { dateColumn, intColumn } from "./columns";
import { QueueColumns } from "./QueueColumns";

/** Life cycle of an automated task created by `runByCron`. */
export type HrpCronJobState = "pending" | "running" | "done" | "failed" | "cancelled" | "stopped";
export const HRP_CRON_JOB_STATES: readonly HrpCronJobState[] = [
  "pending",
  "running",
  "done",
  "failed",
  "cancelled",
  "stopped",
];

/**
 * `hrp_cron_job`: one delayed call, made with `runByCron` (`kind = 'cron'`)
 * or `enqueue` (`kind = 'queue'`): the row the dispatcher claims and the
 * audited record of what happened, in one row that goes `pending` →
 * `running` → `done` (migration 0014): `state`, due time (`nextcall`), the
 * claim (`running_worker`), timings and, on failure, `exc_info` (message and
 * stack). Its done row is its successful run's record (`hrp_cron_runs`).
 * `runByCron` also writes the seed's one-shot `ir_cron` row
 * (`ir_cron.hrp_cron_job_id`), a record the dispatcher never claims,
 * finished (`active = false`) when the job ends.
 */
@Entity({ name: "hrp_cron_job", synchronize: false })
export class HrpCronJob extends QueueColumns {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 256 })
  name!: string;

  @Column({ type: "varchar", length: 128 })
  model!: string;

  @Column({ name: "function", type: "varchar", length: 128 })
  function!: string;

  /** JSON array of positional arguments. */
  @Column({ type: "text", default: "[]" })
  args!: string;

  @Column(intColumn("priority", { default: 10 }))
  priority!: number;

  /** The user the call runs as. */
  @Column(intColumn("user_id"))
  userId!: number;

  /**
   * Who the user was when this was created: the login (or the user
   * resolver's stable key). A run refuses to start when `user_id` now
   * resolves to someone else; null (rows from before migration 0009) is not checked.
   */
  @Column({ name: "user_key", type: "varchar", length: 256, nullable: true })
  userKey!: string | null;

  /** When the call should start. */
  @Column(dateColumn("date_created", { nullable: false }))
  dateCreated!: Date;

  @Column({ type: "varchar", length: 16, default: "pending" })
  state!: HrpCronJobState;

  @Column(dateColumn("date_started"))
  dateStarted!: Date | null;

  @Column(dateColumn("date_done"))
  dateDone!: Date | null;

  /** Error message and stack of the last failure. */
  @Column({ name: "exc_info", type: "text", nullable: true })
  excInfo!: string | null;

  @Column(intColumn("create_uid", { nullable: true }))
  createUid!: number | null;

  @Column(dateColumn("create_date"))
  createDate!: Date | null;

  /** `cron` for `runByCron`, `queue` for `enqueue`. */
  @Column({ type: "varchar", length: 16, default: "cron" })
  kind!: "cron" | "queue";

  /** Frappe's `job_id`: with `deduplicate`, one live job per key. */
  @Column({ name: "job_key", type: "varchar", length: 256, nullable: true })
  jobKey!: string | null;

  @Column(intColumn("max_retries", { default: 0 }))
  maxRetries!: number;

  /** Runs started so far (first try and retries). */
  @Column(intColumn("attempts", { default: 0 }))
  attempts!: number;

  /** JSON array of delays (ms) between retries; the last repeats. */
  @Column({ name: "retry_backoff_ms", type: "text", nullable: true })
  retryBackoffMs!: string | null;

  /** The worker that ran it last. */
  @Column({ name: "worker_id", type: "varchar", length: 128, nullable: true })
  workerId!: string | null;

  /** Registered `model.method` called as `(env, { jobId, result })` in the job's transaction when it succeeds. */
  @Column({ name: "on_success", type: "varchar", length: 256, nullable: true })
  onSuccess!: string | null;

  /** Registered `model.method` called as `(env, { jobId, error })` after the job has finally failed. */
  @Column({ name: "on_failure", type: "varchar", length: 256, nullable: true })
  onFailure!: string | null;

  /**
   * The method's return value as JSON text, stored with the job's success
   * (migration 0016); null until then, and when it returned nothing. Read it
   * parsed with `JobQueue.getJobResult`. At most `maxResultBytes`.
   */
  @Column({ type: "text", nullable: true })
  result!: string | null;

  /**
   * The trace context of the code that enqueued the job (propagation
   * headers as JSON: `traceparent`, `tracestate`; migration 0017), stored
   * when the enqueuer has the `tracing` option and a span is active: the
   * run's span is its child. Null otherwise.
   */
  @Column({ name: "trace_context", type: "text", nullable: true })
  traceContext!: string | null;

  /**
   * Progress its method reported (`env.progress(done, total, message)`,
   * migration 0019), written outside the job's transaction: visible while it
   * runs, kept when its run rolls back (then it is the progress of that
   * failed run). Null until the method reports any.
   */
  @Column(intColumn("progress_done", { nullable: true }))
  progressDone!: number | null;

  @Column(intColumn("progress_total", { nullable: true }))
  progressTotal!: number | null;

  @Column({ name: "progress_message", type: "varchar", length: 500, nullable: true })
  progressMessage!: string | null;

  /** When the progress was last written. */
  @Column(dateColumn("progress_at", { nullable: true }))
  progressAt!: Date | null;

  /** When the job is due (its next run: the first, or a retry after its backoff); the claim's order is `priority, nextcall, id`. */
  @Column(dateColumn("nextcall"))
  nextcall!: Date | null;

  /** Worker executing the job now (the claim), null when it is not `running`. */
  @Column({ name: "running_worker", type: "varchar", length: 128, nullable: true })
  runningWorker!: string | null;

  /** When the claim was taken (the claimer's wall clock). */
  @Column(dateColumn("running_since"))
  runningSince!: Date | null;

  /** Set by `stopJob`: the worker running it aborts the run. */
  @Column({ name: "stop_requested", type: "boolean", default: false })
  stopRequested!: boolean;

  /** Failed runs since it was enqueued or retried by an operator; decides its retries (`max_retries`). */
  @Column(intColumn("failure_count", { default: 0 }))
  failureCount!: number;

  /** Worker deaths attributed to its runs (see `IrCron.suspect`); reset by `retryJob`. */
  @Column(intColumn("crash_count", { default: 0 }))
  crashCount!: number;

  /** Its claim died with its worker, unattributed: it next runs alone, after committing `suspectStarted`. */
  @Column({ type: "boolean", default: false })
  suspect!: boolean;

  /** Committed before a suspect's lone run starts: a worker death while set is this job's crash. */
  @Column({ name: "suspect_started", type: "boolean", default: false })
  suspectStarted!: boolean;

  /** When a worker first handed it back because no live worker serves its method (rolling deploys); else null. */
  @Column(dateColumn("unserved_since"))
  unservedSince!: Date | null;
}

/** The columns of `hrp_cron_job` that only the engine writes (a job's lifecycle), not what an enqueue decides. */
export type HrpCronJobLifecycle =
  | "nextcall"
  | "runningWorker"
  | "runningSince"
  | "stopRequested"
  | "failureCount"
  | "crashCount"
  | "suspect"
  | "suspectStarted"
  | "unservedSince"
  | "result"
  | "progressDone"
  | "progressTotal"
  | "progressMessage"
  | "progressAt";
