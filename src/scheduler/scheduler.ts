import type { DataSource, EntityManager } from "typeorm";
import { HrpCronJob } from "../schema/entities/HrpCronJob";
import { ScheduledJobLog, ScheduledJobType } from "../schema/entities/ScheduledJobType";
import { backendFor, type Backend } from "../backend";
import { newWorkerId } from "../core/host";
import { coerceError, NotFoundError, UnknownMethodError, ValidationError } from "../core/errors";
import { DEFAULTS } from "../core/options";
import { resolveShared, type ResolvedShared } from "../core/resolveOptions";
import { ResUsersResolver } from "../store/users";
import { JobQueue } from "../api/jobQueue";
import { splitMethodName } from "../core/methodName";
import type { ModelRegistry } from "../core/registry";
import { withTransientRetry } from "../backend/retry";
import { commitOnce } from "../backend/commitOnce";
import { checkTimeZone, nextCronOccurrence } from "../scheduling";
import { checkBool, describe, checkId, checkInt, checkOptions, optionalBool } from "../core/validate";
import { checkJobTypeSpec, checkSchedulerControl, checkSchedulerEvents, SCHEDULER_OPTION_KEYS, type JobTypeSpec, type SchedulerControl, type SchedulerOptions } from "./schedulerInput";
import { EVENT_NAMES, expressionOf, frequencyOfEvent, queueOfFrequency, type EventName, type Frequency } from "../scheduling/frequencies";
import { checkUserKey, requireActiveUser, userKeyOf } from "../core/users";
import { failingTypes, recordTypeFailure, type FailingType } from "../store/scheduler";


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
 * await scheduler.sync();
 * await scheduler.start();
 * ```
 */
export class Scheduler {
  readonly id = newWorkerId();
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

  private readonly config: SchedulerOptions;

  constructor(private readonly dataSource: DataSource, config: SchedulerOptions) {
    this.backend = backendFor(dataSource);
    config = checkOptions("options", config, SCHEDULER_OPTION_KEYS);
    this.config = config;
    this.options = resolveShared(config, new ResUsersResolver());
    const { schedulerEvents, schedulerIntervalMinutes, tickIntervalMs, leaseMs, catchUp, maxCatchUp, ...queueOptions } = config;
    this.jobs = new JobQueue(dataSource, queueOptions);
    this.allMinutes = checkInt("schedulerIntervalMinutes", config.schedulerIntervalMinutes ?? DEFAULTS.schedulerIntervalMinutes, 1, 59);
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
    const declared = this.declared();
    return withTransientRetry(this.backend, this.options, () =>
      this.backend.transaction(async (m) => {
        const existing = await m.find(ScheduledJobType);
        let inserted = 0;
        let updated = 0;
        let deleted = 0;
        for (const d of declared) {
          const row = existing.find((e) => e.method === d.method);
          if (!row) {
            const admin = await this.options.userResolver.findUser(m, DEFAULTS.jobTypeUserId);
            await m.insert(ScheduledJobType, { ...d, userId: DEFAULTS.jobTypeUserId, userKey: admin ? userKeyOf(admin) : null, tz: null, stopped: false, createdBy: "app", lastExecution: null, lastJobId: null, createDate: this.options.now() });
            inserted++;
          } else if (row.createdBy === "app" && (row.frequency !== d.frequency || row.cronFormat !== d.cronFormat || row.queue !== d.queue)) {
            await m.update(ScheduledJobType, { id: row.id }, d);
            updated++;
          }
        }
        for (const row of existing) {
          if (row.createdBy === "app" && !declared.some((d) => d.method === row.method)) {
            await m.delete(ScheduledJobType, { id: row.id });
            deleted++;
          }
        }
        return { inserted, updated, deleted };
      }),
    );
  }

  /** Creates a Scheduled Job Type at run time (`created_by = 'admin'`). @throws ValidationError, UnknownMethodError, InvalidUserError */
  async createType(spec: JobTypeSpec): Promise<ScheduledJobType> {
    spec = checkJobTypeSpec(spec);
    const method = this.checkMethod(spec.method);
    const tz = spec.timeZone === undefined ? null : checkTimeZone(spec.timeZone);
    expressionOf(spec.frequency, spec.cronFormat ?? null, this.allMinutes, tz ?? "UTC");
    const queue = spec.queue ?? queueOfFrequency(spec.frequency);
    this.jobs.queues.get(queue);
    const userId = checkId("userId", spec.userId ?? DEFAULTS.jobTypeUserId);
    // Exactly once: a retry after a lost COMMIT reply would find its own row and refuse it as a duplicate.
    return commitOnce(this.backend, this.options, { operation: "createType", method }, async (m) => {
      const user = await requireActiveUser(this.options.userResolver, m, userId);
      if (await m.findOneBy(ScheduledJobType, { method })) throw new ValidationError("method", `a Scheduled Job Type for ${method} already exists`, method);
      return m.save(m.create(ScheduledJobType, {
        method, frequency: spec.frequency, cronFormat: spec.frequency === "Cron" ? spec.cronFormat! : null, queue, userId, userKey: userKeyOf(user), tz,
        stopped: spec.stopped ?? false, createdBy: "admin", lastExecution: null, lastJobId: null, createDate: this.options.now(),
      }));
    });
  }

  /** Stops (or restarts) a type: a stopped type is never enqueued. @throws NotFoundError */
  async setStopped(typeId: number, stopped: boolean): Promise<void> {
    checkBool("stopped", stopped);
    const result = await this.backend.transaction((m) => m.update(ScheduledJobType, { id: checkId("typeId", typeId) }, { stopped }));
    if (!result.affected) throw new NotFoundError("scheduled_job_type", typeId);
  }

  /** Every type with its next run (`nextRunAt`): the first occurrence after its last run, or after its creation on a cold start. */
  async listTypes(): Promise<Array<ScheduledJobType & { nextRunAt: Date }>> {
    const types = await this.dataSource.manager.find(ScheduledJobType, { order: { id: "ASC" } });
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
  async setControl(change: SchedulerControl): Promise<void> {
    change = checkSchedulerControl(change);
    await this.backend.transaction((m) => this.backend.execute(m,
      `UPDATE hrp_cron_scheduler SET paused = COALESCE(?, paused), enabled = COALESCE(?, enabled) WHERE id = 1`,
      [change.paused ?? null, change.enabled ?? null]));
  }

  async status(): Promise<{ enabled: boolean; paused: boolean; leaderId: string | null; leaderUntil: Date | null; lastTick: Date | null }> {
    const [row] = await this.backend.transaction((m) => this.backend.query<Record<string, unknown>>(m, `SELECT * FROM hrp_cron_scheduler WHERE id = 1`));
    return {
      enabled: this.backend.fromDbBool(row.enabled), paused: this.backend.fromDbBool(row.paused),
      leaderId: (row.leader_id as string | null) ?? null, leaderUntil: this.backend.fromDbDate(row.leader_until), lastTick: this.backend.fromDbDate(row.last_tick),
    };
  }

  /** One scheduling pass: updates finished runs' logs, then (as leader) enqueues every due type. */
  async tick(): Promise<TickResult> {
    return withTransientRetry(this.backend, { ...this.options, stopping: () => this.stopping }, () => this.backend.transaction((m) => this.tickIn(m)));
  }

  private async tickIn(m: EntityManager): Promise<TickResult> {
    const now = this.options.now();
    const d = (x: Date) => this.backend.toDbDate(x);
    const won = await this.backend.execute(
      m,
      `UPDATE hrp_cron_scheduler SET leader_id = ?, leader_until = ?, last_tick = ?
        WHERE id = 1 AND enabled = TRUE AND paused = FALSE AND (leader_id IS NULL OR leader_id = ? OR leader_until < ?)`,
      [this.id, d(new Date(now.getTime() + this.leaseMs)), d(now), this.id, d(now)],
    );
    if (won === 0) return { leader: false, enqueued: [], skipped: [] };
    await this.closeFinishedLogs(m, now);
    const enqueued: string[] = [];
    const skipped: Array<{ method: string; reason: string }> = [];
    for (const type of await m.find(ScheduledJobType, { where: { stopped: false }, order: { id: "ASC" } })) {
      let due: Date;
      try {
        due = this.nextRunAt(type);
      } catch (error) {
        // No occurrence can be computed (a stored schedule or zone that is no longer valid): say so once.
        const reason = coerceError(error).message;
        skipped.push({ method: type.method, reason });
        if (await recordTypeFailure(this.backend, m, type, now, null, reason)) {
          this.options.logger.error("scheduler: a scheduled job type cannot be scheduled", { method: type.method, error: reason });
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
        await m.update(ScheduledJobType, { id: type.id }, { lastExecution: now });
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
    const d = (x: Date) => this.backend.toDbDate(x);
    const tz = type.tz ?? "UTC";
    const expression = expressionOf(type.frequency, type.cronFormat, this.allMinutes, tz);
    if (type.userKey !== null) checkUserKey(await requireActiveUser(this.options.userResolver, m, type.userId), type.userKey);
    const previous = type.lastJobId === null ? null : await m.findOneBy(HrpCronJob, { id: type.lastJobId });
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
      await this.backend.execute(m, `UPDATE scheduled_job_log SET status = 'Failed', date_end = ?, error = ? WHERE hrp_cron_job_id = ? AND status = 'Start'`, [d(now), `stuck: ${reason}`, previous.id]);
    }
    let runs = 1;
    if (this.catchUp) {
      runs = 0;
      for (let at = due; at <= now && runs < this.maxCatchUp; at = nextCronOccurrence(expression, at, tz)) runs++;
    }
    let lastJob: HrpCronJob | null = null;
    for (let i = 0; i < runs; i++) {
      lastJob = (await this.jobs.enqueue(type.method, { queue: type.queue, userId: type.userId, jobName: `${type.method} (${type.frequency})`, manager: m })) as HrpCronJob;
      await m.insert(ScheduledJobLog, {
        scheduledJobTypeId: type.id, method: type.method, status: "Start", hrpCronJobId: lastJob.id, scheduledFor: due, dateStart: now, dateEnd: null, error: null,
      });
    }
    // Missed periods collapse: the next run is the first occurrence after now.
    await m.update(ScheduledJobType, { id: type.id }, { lastExecution: now, lastJobId: lastJob!.id });
    return null;
  }

  /** `Start` rows whose job ended become `Complete` or `Failed` (with the job's error). */
  private async closeFinishedLogs(m: EntityManager, now: Date): Promise<void> {
    const open = await this.backend.query<{ id: number; state: string; exc_info: string | null; date_done: unknown }>(
      m,
      `SELECT l.id, j.state, j.exc_info, j.date_done FROM scheduled_job_log l JOIN hrp_cron_job j ON j.id = l.hrp_cron_job_id
        WHERE l.status = 'Start' AND j.state IN ('done', 'failed', 'cancelled', 'stopped')`,
    );
    for (const row of open) {
      const status = row.state === "done" ? "Complete" : "Failed";
      await this.backend.execute(m, `UPDATE scheduled_job_log SET status = ?, date_end = ?, error = ? WHERE id = ?`, [
        status, this.backend.toDbDate(this.backend.fromDbDate(row.date_done) ?? now), status === "Failed" ? row.exc_info ?? row.state : null, row.id,
      ]);
    }
  }

  /** Ticks every `tickIntervalMs` until `stop()`. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.stopping = false;
    const loop = async () => {
      this.ticking = this.tick().catch((error: unknown) => this.options.logger.error("scheduler tick failed", { error: String(error) }));
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
    await this.backend.transaction((m) => this.backend.execute(m, `UPDATE hrp_cron_scheduler SET leader_id = NULL, leader_until = NULL WHERE id = 1 AND leader_id = ?`, [this.id]))
      .catch(() => undefined);
  }

  private declared(): Array<{ method: string; frequency: Frequency; cronFormat: string | null; queue: string }> {
    const events = checkSchedulerEvents(this.config.schedulerEvents);
    const out: Array<{ method: string; frequency: Frequency; cronFormat: string | null; queue: string }> = [];
    const add = (method: string, frequency: Frequency, cronFormat: string | null, queue: string) => {
      this.checkMethod(method);
      expressionOf(frequency, cronFormat, this.allMinutes);
      if (out.some((o) => o.method === method)) throw new ValidationError("schedulerEvents", `${method} is declared twice`, method);
      out.push({ method, frequency, cronFormat, queue });
    };
    for (const [event, methods] of Object.entries(events)) {
      if (event === "cron" || event === "cron_long") {
        for (const [expression, list] of Object.entries(methods as Record<string, string[]>)) {
          for (const method of list) add(method, "Cron", expression, event === "cron_long" ? "long" : "default");
        }
      } else if ((EVENT_NAMES as readonly string[]).includes(event)) {
        const frequency = frequencyOfEvent(event as EventName);
        for (const method of methods as string[]) add(method, frequency, null, queueOfFrequency(frequency));
      } else {
        throw new ValidationError("schedulerEvents", `unknown event "${event}"; use ${[...EVENT_NAMES, "cron", "cron_long"].join(", ")}`, event);
      }
    }
    return out;
  }

  private checkMethod(method: string): string {
    const split = typeof method === "string" ? splitMethodName(method) : null;
    if (split === null || split.model === "") throw new ValidationError("method", `expected "model.method", got ${describe(method)}`, method);
    if (!this.config.registry.has(split.model, split.method)) throw new UnknownMethodError(split.model, split.method);
    return method;
  }
}
