import type { DataSource, EntityManager } from "typeorm";
import { JobQueue } from "../api/jobQueue";
import { backendFor, type Backend } from "../backend";
import { commitOnce } from "../backend/commitOnce";
import { retriedTransaction } from "../backend/retry";
import { coerceError, ValidationError } from "../core/errors";
import { TypedEvents } from "../core/events";
import { newWorkerId } from "../core/host";
import { checkOperator, type OperatorContext } from "../core/operator";
import { DEFAULTS } from "../core/options";
import { resolveShared, type ResolvedShared } from "../core/resolveOptions";
import { checkUserKey, requireActiveUser, userKeyOf } from "../core/users";
import { checkBool, checkId, checkInt, checkOptions, optionalBool } from "../core/validate";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import type { ScheduledJobType } from "../schema/entities/ScheduledJobType";
import { checkTimeZone, nextCronOccurrence } from "../scheduling";
import { expressionOf, queueOfFrequency } from "../scheduling/frequencies";
import {
  allTypes,
  closeFinishedLogs,
  deleteType,
  failingTypes,
  findJob,
  findTypeByMethod,
  insertType,
  listTypes,
  logStart,
  logStuck,
  recordTypeFailure,
  releaseLease,
  saveType,
  schedulerStatus,
  takeLease,
  updateType,
  type FailingType,
  type SchedulerStatus,
} from "../store/scheduler";
import { recordAction } from "../store/actions";
import { ResUsersResolver } from "../store/users";
import {
  checkJobTypeSpec,
  checkSchedulerControl,
  SCHEDULER_OPTION_KEYS,
  type JobTypeSpec,
  type SchedulerControl,
  type SchedulerOptions,
} from "./schedulerInput";
import { setControlAudited, setStoppedAudited } from "./controls";
import { checkTypeMethod, declaredTypes } from "./declaredTypes";
import type { SchedulerEventMap } from "./events";

/** What one tick did. */
export interface TickResult {
  readonly leader: boolean;
  readonly enqueued: string[];
  readonly skipped: Array<{ method: string; reason: string }>;
}

/**
 * The scheduler: turns Scheduled Job Types into queue jobs when they are
 * due. Exactly one scheduler is active across all processes: each tick
 * takes or renews a lease on the `hrp_cron_scheduler` row, in the same
 * transaction as the enqueues, so two schedulers never enqueue the same
 * period.
 *
 * ```ts
 * const scheduler = new Scheduler(dataSource, { registry, schedulerEvents: { daily: ["hrp.asset.depreciate"] } });
 * scheduler.events.on("tick:error", (e) => alert(`scheduler tick failed: ${e.error}`));
 * await scheduler.sync();
 * await scheduler.start();
 * ```
 */
export class Scheduler {
  readonly id = newWorkerId();
  /** Typed events: start/stop, leadership, each tick, tick errors, control changes (see {@link SchedulerEventMap}). */
  readonly events: TypedEvents<SchedulerEventMap>;
  private readonly backend: Backend;
  private readonly options: ResolvedShared;
  private readonly jobs: JobQueue;
  private readonly allMinutes: number;
  private readonly tickMs: number;
  private readonly leaseMs: number;
  private readonly maxCatchUp: number;
  private readonly catchUp: boolean;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<unknown> | null = null;
  /** Set by `stop()`: a tick in a transient retry gives up instead of waiting out its budget. */
  private stopping = false;
  /** Whether this scheduler's last committed tick held the lease (for `leader:acquired` / `leader:lost`). */
  private leading = false;

  private readonly config: SchedulerOptions;

  constructor(
    private readonly dataSource: DataSource,
    config: SchedulerOptions,
  ) {
    this.backend = backendFor(dataSource);
    config = checkOptions("options", config, SCHEDULER_OPTION_KEYS);
    this.config = config;
    this.options = resolveShared(config, new ResUsersResolver());
    this.events = new TypedEvents<SchedulerEventMap>(this.options.logger, "the scheduler");
    const { schedulerEvents, schedulerIntervalMinutes, tickIntervalMs, leaseMs, catchUp, maxCatchUp, ...queueOptions } =
      config;
    this.jobs = new JobQueue(dataSource, queueOptions);
    this.allMinutes = checkInt(
      "schedulerIntervalMinutes",
      config.schedulerIntervalMinutes ?? DEFAULTS.schedulerIntervalMinutes,
      1,
      59,
    );
    this.tickMs = checkInt("tickIntervalMs", config.tickIntervalMs ?? DEFAULTS.tickIntervalMs, 10, 3_600_000);
    this.leaseMs = checkInt("leaseMs", config.leaseMs ?? DEFAULTS.leaseMs, 100, 3_600_000);
    this.maxCatchUp = checkInt("maxCatchUp", config.maxCatchUp ?? DEFAULTS.maxCatchUp, 1, 10_000);
    this.catchUp = optionalBool("catchUp", config.catchUp, DEFAULTS.catchUp);
  }

  /**
   * Brings `scheduled_job_type` in line with `schedulerEvents`: inserts new
   * methods, updates changed frequencies, deletes app-declared types no
   * longer declared (types created by an administrator are kept).
   */
  async sync(): Promise<{ inserted: number; updated: number; deleted: number }> {
    const declared = declaredTypes(this.config.schedulerEvents, this.config.registry, this.allMinutes);
    return retriedTransaction(this.backend, this.options, async (m) => {
      const existing = await allTypes(m);
      let inserted = 0;
      let updated = 0;
      let deleted = 0;
      for (const d of declared) {
        const row = existing.find((e) => e.method === d.method);
        if (!row) {
          const admin = await this.options.userResolver.findUser(m, DEFAULTS.jobTypeUserId);
          await insertType(m, {
            ...d,
            userId: DEFAULTS.jobTypeUserId,
            userKey: admin ? userKeyOf(admin) : null,
            tz: null,
            stopped: false,
            createdBy: "app",
            lastExecution: null,
            lastJobId: null,
            createDate: this.options.now(),
          });
          inserted++;
        } else if (
          row.createdBy === "app" &&
          (row.frequency !== d.frequency || row.cronFormat !== d.cronFormat || row.queue !== d.queue)
        ) {
          await updateType(m, row.id, d);
          updated++;
        }
      }
      for (const row of existing) {
        if (row.createdBy === "app" && !declared.some((d) => d.method === row.method)) {
          await deleteType(m, row.id);
          deleted++;
        }
      }
      return { inserted, updated, deleted };
    });
  }

  /** Creates a Scheduled Job Type at run time (`created_by = 'admin'`). @throws ValidationError, UnknownMethodError, InvalidUserError */
  async createType(spec: JobTypeSpec, operator?: OperatorContext): Promise<ScheduledJobType> {
    spec = checkJobTypeSpec(spec);
    const method = checkTypeMethod(this.config.registry, spec.method);
    const tz = spec.timeZone === undefined ? null : checkTimeZone(spec.timeZone);
    expressionOf(spec.frequency, spec.cronFormat ?? null, this.allMinutes, tz ?? "UTC");
    const queue = spec.queue ?? queueOfFrequency(spec.frequency);
    this.jobs.queues.get(queue);
    const userId = checkId("userId", spec.userId ?? DEFAULTS.jobTypeUserId);
    const by = checkOperator(operator);
    // Exactly once: a retry after a lost COMMIT reply would find its own row and refuse it as a duplicate.
    return commitOnce(this.backend, this.options, { operation: "createType", method }, async (m) => {
      const user = await requireActiveUser(this.options.userResolver, m, userId);
      if (await findTypeByMethod(m, method))
        throw new ValidationError("method", `a Scheduled Job Type for ${method} already exists`, method);
      const type = await saveType(m, {
        method,
        frequency: spec.frequency,
        cronFormat: spec.frequency === "Cron" ? spec.cronFormat! : null,
        queue,
        userId,
        userKey: userKeyOf(user),
        tz,
        stopped: spec.stopped ?? false,
        createdBy: "admin",
        lastExecution: null,
        lastJobId: null,
        createDate: this.options.now(),
      });
      await recordAction(this.backend, m, by, this.options.now(), {
        action: "create_job_type",
        targetType: "job_type",
        targetId: type.id,
        affected: 1,
        outcome: `scheduled job type ${type.id}: ${method} (${spec.frequency}${type.cronFormat ? ` ${type.cronFormat}` : ""}) on queue ${queue}`,
      });
      return type;
    });
  }

  /** Stops (or restarts) a type: a stopped type is never enqueued. @throws NotFoundError */
  async setStopped(typeId: number, stopped: boolean, operator?: OperatorContext): Promise<void> {
    checkBool("stopped", stopped);
    const id = checkId("typeId", typeId);
    await setStoppedAudited(this.backend, this.options.now(), id, stopped, checkOperator(operator));
  }

  /** Every type with its next run (`nextRunAt`): the first occurrence after its last run, or after its creation on a cold start. */
  async listTypes(): Promise<Array<ScheduledJobType & { nextRunAt: Date }>> {
    const types = await listTypes(this.dataSource);
    return types.map((t) => Object.assign(t, { nextRunAt: this.nextRunAt(t) }));
  }

  nextRunAt(type: ScheduledJobType): Date {
    const expression = expressionOf(type.frequency, type.cronFormat, this.allMinutes, type.tz ?? "UTC");
    return nextCronOccurrence(expression, type.lastExecution ?? type.createDate, type.tz ?? "UTC");
  }

  /** Types whose latest log row is `Failed` (could not be enqueued, or their run failed), for `hrp-cron doctor`. */
  async failingTypes(): Promise<FailingType[]> {
    return this.backend.transaction((m) => failingTypes(this.backend, m));
  }

  /** Persisted controls: a paused or disabled scheduler enqueues nothing. */
  async setControl(change: SchedulerControl, operator?: OperatorContext): Promise<void> {
    change = checkSchedulerControl(change);
    await setControlAudited(this.backend, this.options.now(), change, checkOperator(operator));
    this.events.emit("control", { schedulerId: this.id, ...change });
  }

  async status(): Promise<SchedulerStatus> {
    return schedulerStatus(this.backend);
  }

  /**
   * One scheduling pass: updates finished runs' logs, then (as leader)
   * enqueues every due type. Told, once committed, by `tick` (and
   * `leader:acquired` / `leader:lost` when the leadership changed), or by
   * `tick:error` when it fails.
   */
  async tick(): Promise<TickResult> {
    const began = Date.now();
    let at = this.options.now();
    let result: TickResult;
    try {
      result = await retriedTransaction(this.backend, { ...this.options, stopping: () => this.stopping }, (m) =>
        this.tickIn(m, (at = this.options.now())),
      );
    } catch (error) {
      this.events.emit("tick:error", { schedulerId: this.id, at, error: coerceError(error).message });
      throw error;
    }
    const schedulerId = this.id;
    if (result.leader !== this.leading) {
      this.leading = result.leader;
      if (result.leader) this.events.emit("leader:acquired", { schedulerId, at });
      else this.events.emit("leader:lost", { schedulerId, at, reason: "not-renewed" });
    }
    this.events.emit("tick", { schedulerId, at, ...result, durationMs: Date.now() - began });
    return result;
  }

  private async tickIn(m: EntityManager, now: Date): Promise<TickResult> {
    if (!(await takeLease(this.backend, m, this.id, new Date(now.getTime() + this.leaseMs), now)))
      return { leader: false, enqueued: [], skipped: [] };
    await closeFinishedLogs(this.backend, m, now);
    const enqueued: string[] = [];
    const skipped: Array<{ method: string; reason: string }> = [];
    for (const type of await allTypes(m, false)) {
      let due: Date;
      try {
        due = this.nextRunAt(type);
      } catch (error) {
        // No occurrence can be computed (a stored schedule or zone that is no longer valid): say so once.
        const reason = coerceError(error).message;
        skipped.push({ method: type.method, reason });
        if (await recordTypeFailure(this.backend, m, type, now, null, reason)) {
          this.options.logger.error("scheduler: a scheduled job type cannot be scheduled", {
            method: type.method,
            error: reason,
          });
        }
        continue;
      }
      if (due > now) continue;
      try {
        // Each due type in a savepoint of its own: one that cannot be enqueued fails alone.
        const reason = await m.transaction((inner) => this.enqueueType(inner, type, due, now));
        if (reason === null) enqueued.push(type.method);
        else skipped.push({ method: type.method, reason });
      } catch (error) {
        if (this.backend.isTransientError(error)) throw error; // the whole tick is retried
        const reason = coerceError(error).message;
        skipped.push({ method: type.method, reason });
        this.options.logger.error("scheduler: a due scheduled job type failed", { method: type.method, error: reason });
        // One Failed row for this occurrence; the type is due again at its next occurrence.
        await recordTypeFailure(this.backend, m, type, now, due, reason);
        await updateType(m, type.id, { lastExecution: now });
      }
    }
    return { leader: true, enqueued, skipped };
  }

  /**
   * Enqueues one due type (in its own savepoint); resolves with null when it
   * was enqueued, or with the reason it was skipped (previous run still
   * live). Throws when it cannot be enqueued (user missing, inactive or
   * replaced, method no longer registered, queue no longer configured).
   */
  private async enqueueType(m: EntityManager, type: ScheduledJobType, due: Date, now: Date): Promise<string | null> {
    const tz = type.tz ?? "UTC";
    const expression = expressionOf(type.frequency, type.cronFormat, this.allMinutes, tz);
    if (type.userKey !== null)
      checkUserKey(await requireActiveUser(this.options.userResolver, m, type.userId), type.userKey);
    const previous = type.lastJobId === null ? null : await findJob(m, type.lastJobId);
    if (previous && (previous.state === "pending" || previous.state === "running")) {
      const timeoutMs = previous.timeoutMs ?? this.jobs.queues.get(type.queue).timeoutMs;
      const since = previous.dateStarted ?? previous.dateCreated;
      const stuck = previous.state === "running" && since.getTime() + timeoutMs < now.getTime();
      if (!stuck) {
        const reason = `previous run (job ${previous.id}) is still ${previous.state}`;
        this.options.logger.info("scheduler: skipping a due type", { method: type.method, reason });
        return reason;
      }
      // Frappe would skip this forever; report it and schedule anew.
      const reason = `previous run (job ${previous.id}) has been running past its ${timeoutMs / 1000} s timeout`;
      this.options.logger.error("scheduler: stuck run detected", { method: type.method, jobId: previous.id });
      await logStuck(this.backend, m, previous.id, now, reason);
    }
    let runs = 1;
    if (this.catchUp) {
      runs = 0;
      for (let at = due; at <= now && runs < this.maxCatchUp; at = nextCronOccurrence(expression, at, tz)) runs++;
    }
    let lastJob: HrpCronJob | null = null;
    for (let i = 0; i < runs; i++) {
      lastJob = await this.jobs.enqueue(type.method, {
        queue: type.queue,
        userId: type.userId,
        jobName: `${type.method} (${type.frequency})`,
        manager: m,
      });
      await logStart(m, type, lastJob.id, due, now);
    }
    // Missed periods collapse: the next run is the first occurrence after now.
    await updateType(m, type.id, { lastExecution: now, lastJobId: lastJob!.id });
    return null;
  }

  /** Ticks every `tickIntervalMs` until `stop()`. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.stopping = false;
    this.events.emit("scheduler:start", { schedulerId: this.id });
    const loop = async () => {
      this.ticking = this.tick().catch((error: unknown) =>
        this.options.logger.error("scheduler tick failed", { error: String(error) }),
      );
      await this.ticking;
      if (this.timer) this.timer = setTimeout(loop, this.tickMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Stops ticking and gives up the lease so another scheduler takes over at once. */
  async stop(): Promise<void> {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.stopping = true;
    await this.ticking;
    await releaseLease(this.backend, this.id).catch(() => undefined);
    if (this.leading) {
      this.leading = false;
      this.events.emit("leader:lost", { schedulerId: this.id, at: this.options.now(), reason: "released" });
    }
    this.events.emit("scheduler:stop", { schedulerId: this.id });
  }
}
