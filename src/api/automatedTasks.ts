import type { DataSource, EntityManager } from "typeorm";
import { backendFor, localFor, type Backend } from "../backend";
import { writeOnce } from "../backend/commitOnce";
import { mergeBands, workBandOf, type ProcessLocal } from "../backend/processLocal";
import { currentJobCronId, currentJobManager, currentUserId } from "../core/context";
import { InvalidStateError, UnknownMethodError, type WriteDescription } from "../core/errors";
import { checkOperator, type OperatorContext } from "../core/operator";
import { DEFAULTS, SERVICE_OPTION_KEYS, type ServiceOptions } from "../core/options";
import { checkRegistry, type ModelRegistry } from "../core/registry";
import { resolveShared, type ResolvedShared } from "../core/resolveOptions";
import { requireActiveUser, userKeyOf } from "../core/users";
import {
  checkBool,
  checkDate,
  checkId,
  checkInt,
  checkName,
  checkOptions,
  checkPriority,
  checkTransactionOption,
  serializeArgs,
} from "../core/validate";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import type { HrpCronRun } from "../schema/entities/HrpCronRun";
import type { IrCron } from "../schema/entities/IrCron";
import { checkSchedulable, nextOccurrence, validateSchedule } from "../scheduling";
import { deleteIdleCron, insertCron, jobOfCron, markRetrigger } from "../store/crons";
import { insertJob, insertJobs } from "../store/jobs";
import { ResUsersResolver } from "../store/users";
import { userKeysOnce } from "./bulkUsers";
import { editIdleCron, recurringCronRow } from "./cronEdits";
import { JobAdmin } from "./jobAdmin";
import {
  checkRunByCronCall,
  checkRunByCronCalls,
  planRunByCron,
  type RunByCronCall,
  type RunByCronContext,
} from "./runByCronInput";
import { checkCronSpec, type CronSpec, type JobFilter, type RunFilter, type TransactionOption } from "./serviceInput";

/**
 * The write side of automated tasks: `runByCron` (Odoo's
 * `hrp.cron.job.run_by_cron`), recurring crons, and the operator actions
 * (run now, activate; retry, cancel and listings through {@link JobAdmin}).
 * Every call validates its input first and writes nothing when it throws.
 *
 * ```ts
 * const service = new HrpCronJobService(dataSource, { registry });
 * await runAsUser(approverId, () =>
 *   service.runByCron("Create Asset Receiving Account Move", "hrp.asset.receiving.application",
 *     "createAssetAcceptanceAccountMove", [[12, 13]], 10, undefined, new Date(Date.now() + 30_000)));
 * ```
 */
export class HrpCronJobService {
  private readonly backend: Backend;
  /** In-process wake-ups (and, for the queue, runs in progress) of this DataSource. */
  private readonly local: ProcessLocal;
  private readonly options: ResolvedShared;
  private readonly registry?: ModelRegistry;
  /** Retry, cancel and the listings, shared with `JobQueue` and the CLI. */
  private readonly admin: JobAdmin;

  constructor(
    private readonly dataSource: DataSource,
    options: ServiceOptions = {},
  ) {
    this.backend = backendFor(dataSource);
    this.local = localFor(dataSource);
    options = checkOptions("options", options, SERVICE_OPTION_KEYS);
    this.options = resolveShared(options, new ResUsersResolver());
    this.registry = checkRegistry(options.registry, true);
    this.admin = new JobAdmin(dataSource, {}, this.options);
  }

  /**
   * Schedules one call of `model.fn(...args)` at `dateCreated` (default: now)
   * as `userId` (default: the ambient user of {@link runAsUser}, else the
   * configured default). Writes the `hrp_cron_job` row (what the dispatcher
   * claims) and the seed's one-shot `ir_cron` row (its record) in one
   * transaction — the caller's, when `options.manager` is given. Returns the
   * saved job.
   *
   * @throws ValidationError for an empty name, non-JSON args, a bad priority or date
   * @throws UnknownMethodError when a registry was given and `model.fn` is not in it
   * @throws InvalidUserError when the user is missing or inactive
   */
  runByCron(
    name: string,
    model: string,
    fn: string,
    args?: unknown[],
    priority?: number,
    userId?: number,
    dateCreated?: Date,
    options?: TransactionOption,
  ): Promise<HrpCronJob>;
  /**
   * The same with named options (the seed's positional form above stays):
   *
   * ```ts
   * await service.runByCron({ name: "Create Asset Receiving Account Move", model: "hrp.asset.receiving.application",
   *   function: "createAssetAcceptanceAccountMove", args: [[12, 13]], userId: 42,
   *   dateCreated: new Date(Date.now() + 30_000) }, { manager });
   * ```
   */
  runByCron(call: RunByCronCall, options?: TransactionOption): Promise<HrpCronJob>;
  async runByCron(
    nameOrCall: string | RunByCronCall,
    ...rest: [string?, string?, unknown[]?, number?, number?, Date?, TransactionOption?] | [TransactionOption?]
  ): Promise<HrpCronJob> {
    const named = typeof nameOrCall === "object" && nameOrCall !== null;
    const call = named
      ? checkRunByCronCall(nameOrCall)
      : (() => {
          const [model, fn, args = [], priority = DEFAULTS.jobPriority, userId, dateCreated] = rest as [
            string,
            string,
            unknown[]?,
            number?,
            number?,
            Date?,
          ];
          return { name: nameOrCall, model, function: fn, args, priority, userId, dateCreated };
        })();
    const options = checkTransactionOption(
      (named ? rest[0] : rest[6]) as TransactionOption | undefined,
      this.dataSource,
    );
    const { name, model, function: fn } = call;
    const { job: values, schedule } = planRunByCron(call, this.runContext());
    const band = workBandOf(values);
    const job = await this.write(
      { operation: "runByCron", name, model, function: fn },
      options.manager,
      async (manager) => {
        const user = await this.checkUser(manager, values.userId);
        const saved = await insertJob(this.backend, manager, { ...values, userKey: userKeyOf(user) }, schedule);
        await this.backend.announceWork(manager, [band]);
        return saved;
      },
    );
    this.local.wakeups.notifyAfterCommit((options.manager ?? currentJobManager())?.queryRunner, schedule.nextcall, [
      band,
    ]);
    return job;
  }

  /**
   * Schedules many calls at once: `runByCron` for each of `calls` (its
   * arguments by name: `{ name, model, function, args?, priority?, userId?,
   * dateCreated? }`), with the same checks for every call before anything
   * is written — one bad call and nothing is, and the error names it
   * (`calls[3].priority`) — and the same two rows per job, written in one
   * transaction (the caller's, when `options.manager` is given) with one
   * statement per chunk of up to 5,000 jobs on PostgreSQL. Each distinct
   * user is checked once. Resolves with the jobs in the order given.
   *
   * ```ts
   * await service.runByCronBulk(applications.map((a) => ({
   *   name: "Create Asset Receiving Account Move", model: "hrp.asset.receiving.application",
   *   function: "createAssetAcceptanceAccountMove", args: [[a.id]], userId: a.approverId })), { manager });
   * ```
   * @throws ValidationError, UnknownMethodError, InvalidUserError — and then nothing was written
   */
  async runByCronBulk(calls: readonly RunByCronCall[], options: TransactionOption = {}): Promise<HrpCronJob[]> {
    options = checkTransactionOption(options, this.dataSource);
    const context = this.runContext();
    const planned = checkRunByCronCalls(calls).map((call, i) => planRunByCron(call, context, `calls[${i}]`));
    if (planned.length === 0) return [];
    const jobs = planned.map((p) => p.job);
    const bands = mergeBands([], jobs.map(workBandOf));
    const saved = await this.write(
      { operation: "runByCronBulk", calls: jobs.length },
      options.manager,
      async (manager) => {
        const keys = await userKeysOnce(
          this.options.userResolver,
          manager,
          jobs.map((job) => job.userId),
          (i) => `calls[${i}]`,
        );
        const rows = jobs.map((job) => ({ ...job, userKey: keys.get(job.userId)! }));
        const written = await insertJobs(
          this.backend,
          manager,
          rows,
          planned.map((p) => p.schedule),
        );
        await this.backend.announceWork(manager, bands);
        return written;
      },
    );
    const earliest = planned.reduce(
      (at, p) => (p.schedule.nextcall < at ? p.schedule.nextcall : at),
      planned[0].schedule.nextcall,
    );
    this.local.wakeups.notifyAfterCommit((options.manager ?? currentJobManager())?.queryRunner, earliest, bands);
    return saved;
  }

  /**
   * Creates a recurring cron: every `intervalNumber` x `intervalType`, or on
   * a `cronExpression`, in `timeZone`.
   *
   * @throws ValidationError for a bad schedule, name, args, priority, numbercall or date
   */
  async createCron(spec: CronSpec, options: TransactionOption = {}): Promise<IrCron> {
    options = checkTransactionOption(options, this.dataSource);
    spec = checkCronSpec(spec);
    checkName("name", spec.name);
    this.checkMethod(spec.model, spec.function);
    const argsJson = serializeArgs(spec.args ?? []);
    const priority = checkPriority(spec.priority ?? DEFAULTS.cronPriority);
    const uid = checkId("userId", spec.userId ?? currentUserId() ?? this.options.defaultUserId);
    const numbercall = checkInt("numbercall", spec.numbercall ?? -1, -1, 2_147_483_647);
    const intervalType = spec.intervalType ?? "days";
    const intervalNumber = spec.intervalNumber ?? 1;
    const now = this.options.now();
    const nextcallGiven = spec.nextcall === undefined ? undefined : checkDate("nextcall", spec.nextcall);

    const cron = await this.write(
      { operation: "createCron", name: spec.name, model: spec.model, function: spec.function },
      options.manager,
      async (manager) => {
        const user = await this.checkUser(manager, uid);
        const timeZone = spec.timeZone ?? user.tz ?? "UTC";
        const schedule = spec.cronExpression
          ? ({ kind: "cron", expression: spec.cronExpression, timeZone } as const)
          : ({ kind: "interval", intervalType, intervalNumber, timeZone } as const);
        validateSchedule(schedule);
        const nextcall = nextcallGiven ?? (schedule.kind === "cron" ? nextOccurrence(schedule, now, now) : now);
        checkSchedulable(schedule, nextcall);
        if (spec.active ?? true) await this.backend.announceWork(manager);
        return insertCron(
          manager,
          recurringCronRow(
            spec,
            { userId: uid, userKey: userKeyOf(user), priority, intervalNumber, intervalType },
            {
              nextcall,
              numbercall,
              args: argsJson,
              createUid: currentUserId() ?? uid,
              now,
            },
          ),
        );
      },
    );
    if (cron.active)
      this.local.wakeups.notifyAfterCommit((options.manager ?? currentJobManager())?.queryRunner, cron.nextcall);
    return cron;
  }

  /**
   * Runs a cron once, now (Odoo's trigger): it becomes due at once and a
   * dispatcher picks it up, without moving its schedule — its planned next
   * call is kept in `plannedNextcall`, and the schedule resumes from it after
   * the triggered run (a daily 22:00 cron triggered at 12:00 still runs at
   * 22:00). To execute it in this process and wait for the outcome, use
   * `Dispatcher.runNow(id)`.
   *
   * Called by the cron's own run (`trigger(env.cronId)`: "more work
   * remains", Odoo's pattern), it makes the cron due again as soon as this
   * run is recorded; if the run fails the request is rolled back with it.
   *
   * @throws CurrentlyRunningError when another run of it is executing
   * @throws InvalidStateError when it is the cron of a job that is not pending
   *   (done, failed, cancelled, stopped: use `retryJob`), or a job re-triggering itself
   */
  async trigger(cronId: number, operator?: OperatorContext): Promise<IrCron> {
    checkId("cronId", cronId);
    const audit = { operator: checkOperator(operator), action: "trigger" };
    // A cron's own run asks to run again once it is recorded (in the run's transaction).
    if (currentJobCronId() === cronId)
      return this.write({ operation: "trigger", cronId }, undefined, (m) => markRetrigger(this.backend, m, cronId));
    const now = this.options.now();
    const cron = await editIdleCron(
      this.backend,
      this.options,
      cronId,
      { nextcall: now, active: true, plannedNextcall: () => "COALESCE(planned_nextcall, nextcall)" },
      true,
      now,
      audit,
    );
    this.local.wakeups.notify(now);
    return cron;
  }

  /**
   * Activates or deactivates a cron.
   * @throws CurrentlyRunningError when a worker is executing it
   * @throws InvalidStateError when activating the cron of a job that is not pending (use `retryJob`), or
   *   deactivating the cron of a pending job (use `cancelJob`)
   */
  async setActive(cronId: number, active: boolean, operator?: OperatorContext): Promise<IrCron> {
    checkBool("active", active);
    const audit = { operator: checkOperator(operator), action: active ? "activate" : "deactivate" };
    const cron = await editIdleCron(this.backend, this.options, cronId, { active }, active, undefined, audit);
    if (active) this.local.wakeups.notify(cron.nextcall);
    return cron;
  }

  /**
   * Deletes a cron (not its run history).
   * @throws CurrentlyRunningError when a worker is executing it
   * @throws InvalidStateError for the cron of a job still pending or running (cancel the job first)
   */
  async deleteCron(cronId: number): Promise<void> {
    checkId("cronId", cronId);
    await this.write({ operation: "deleteCron", cronId }, undefined, async (manager) => {
      const job = await jobOfCron(this.backend, manager, cronId);
      if (job && (job.state === "pending" || job.state === "running"))
        throw new InvalidStateError(
          `Cron ${cronId} belongs to job ${job.jobId}, which is ${job.state}: cancel the job (cancelJob(${job.jobId}), hrp-cron cancel ${job.jobId}) before deleting its cron`,
          { cronId, jobId: job.jobId, state: job.state },
        );
      await deleteIdleCron(this.backend, manager, cronId);
    });
  }

  /** {@link JobAdmin.retryJob}. */
  async retryJob(jobId: number, at?: Date, operator?: OperatorContext): Promise<HrpCronJob> {
    return this.admin.retryJob(jobId, at, operator);
  }

  /** {@link JobAdmin.cancelJob}. */
  async cancelJob(jobId: number, operator?: OperatorContext): Promise<HrpCronJob> {
    return this.admin.cancelJob(jobId, operator);
  }

  async getCron(cronId: number): Promise<IrCron> {
    return this.admin.getCron(cronId);
  }

  async getJob(jobId: number): Promise<HrpCronJob> {
    return this.admin.getJob(jobId);
  }

  /** {@link JobAdmin.getJobResult}: what the job's method returned, once it is done. */
  async getJobResult(jobId: number): Promise<unknown> {
    return this.admin.getJobResult(jobId);
  }

  /** The `ir_cron` row of a `runByCron` job (a queue job has none: NotFoundError). */
  async getJobCron(jobId: number): Promise<IrCron> {
    return this.admin.getJobCron(jobId);
  }

  /** All crons, in run order. */
  async listCrons(): Promise<IrCron[]> {
    return this.admin.listCrons();
  }

  /** Jobs, newest first. */
  async listJobs(filter: JobFilter = {}): Promise<HrpCronJob[]> {
    return this.admin.listJobs(filter);
  }

  /** Every run (the `hrp_cron_runs` view: run-log rows and done one-shot jobs), newest first. */
  async listRuns(filter: RunFilter = {}): Promise<HrpCronRun[]> {
    return this.admin.listRuns(filter);
  }

  // ---------------------------------------------------------------------------

  /** What the calls of one runByCron / runByCronBulk share: the registry, the default user, the time, the trace. */
  private runContext(): RunByCronContext {
    const { defaultUserId, tracing } = this.options;
    const traceContext = tracing === null ? null : tracing.capture();
    return { registry: this.registry, defaultUserId, now: this.options.now(), traceContext };
  }

  private checkMethod(model: string, fn: string): void {
    checkName("model", model, 128);
    checkName("function", fn, 128);
    if (this.registry && !this.registry.has(model, fn)) throw new UnknownMethodError(model, fn);
  }

  private async checkUser(manager: EntityManager, uid: number) {
    return requireActiveUser(this.options.userResolver, manager, uid);
  }

  /**
   * One transaction: the caller's when given (it commits it), else our own,
   * committed exactly once (`commitOnce`: retried while the database is
   * unavailable, never blindly after a lost COMMIT reply).
   */
  private write<T>(
    what: WriteDescription,
    given: EntityManager | undefined,
    work: (m: EntityManager) => Promise<T>,
  ): Promise<T> {
    // Inside a job method, join the run's transaction (on SQLite a second transaction would wait for it forever).
    return writeOnce(this.backend, this.options, what, given, work);
  }
}
