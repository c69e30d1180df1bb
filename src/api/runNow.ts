import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { commitOnce, writeOnce } from "../backend/commitOnce";
import { workBandOf } from "../backend/processLocal";
import { InvalidStateError, NotFoundError } from "../core/errors";
import { splitMethodName } from "../core/methodName";
import type { Operator } from "../core/operator";
import { DEFAULTS } from "../core/options";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkUserKey, requireActiveUser, userKeyOf } from "../core/users";
import { checkId } from "../core/validate";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import { recordAction } from "../store/actions";
import { findCron } from "../store/crons";
import { insertJob, type NewJob } from "../store/jobs";
import { findType, logManualStart } from "../store/scheduler";
import { planRunByCron } from "./runByCronInput";

/**
 * "Run now" of a recurring cron that leaves its schedule alone (bull-board
 * #363: a manual run must not shift the schedule). `trigger` makes the
 * cron itself due now (moving `nextcall`, keeping the planned one aside,
 * and activating it); this instead enqueues ONE extra run: a one-shot job
 * (as `runByCron` writes it, so it shows in `hrp_cron_runs` and the job
 * list) calling the cron's method with its arguments, as its user, in its
 * queue, due now. The cron's row is not written at all: `nextcall`,
 * `active`, failure counts and `lastcall` stay as they were, and an
 * inactive cron stays inactive. The job and the `run_now` action row
 * (target the cron, outcome naming the job) commit together.
 *
 * @throws NotFoundError when there is no such cron
 * @throws InvalidStateError for the `ir_cron` row of a job (run the job itself: `Dispatcher.runJob`, or retry it)
 * @throws InvalidUserError when the cron's user is missing, inactive or now someone else
 */
export async function runCronOnceMore(
  backend: Backend,
  options: ResolvedShared,
  cronId: number,
  by: Operator,
): Promise<HrpCronJob> {
  checkId("cronId", cronId);
  const now = options.now();
  return writeOnce(backend, options, { operation: "runCronNow", cronId }, undefined, async (m) => {
    const cron = await findCron(m, cronId);
    if (!cron) throw new NotFoundError("ir_cron", cronId);
    if (cron.hrpCronJobId !== null)
      throw new InvalidStateError(
        `Cron ${cronId} is the record of job ${cron.hrpCronJobId}, which runs once: run or retry the job itself`,
        { cronId, jobId: cron.hrpCronJobId },
      );
    const user = await extraRunUser(options, m, cron.userId, cron.userKey);
    const { job, schedule } = planRunByCron(
      {
        name: cron.name,
        model: cron.model,
        function: cron.function,
        args: JSON.parse(cron.args) as unknown[],
        priority: cron.priority,
        userId: cron.userId,
        dateCreated: now,
      },
      { defaultUserId: options.defaultUserId, now, traceContext: null },
    );
    const values = {
      ...job,
      userKey: userKeyOf(user),
      queue: cron.queue,
      timeoutMs: cron.timeoutMs,
      concurrencyKey: cron.concurrencyKey,
      concurrencyLimit: cron.concurrencyLimit,
    };
    const saved = await insertJob(backend, m, values, { ...schedule, doall: false });
    await backend.announceWork(m, [workBandOf(values)]);
    await recordAction(backend, m, by, now, {
      action: "run_now",
      targetType: "cron",
      targetId: cronId,
      affected: 1,
      outcome: `job ${saved.id} runs ${cron.model}.${cron.function} once now; the schedule is unchanged (next call ${cron.nextcall.toISOString()}${cron.active ? "" : ", inactive"})`,
    });
    return saved;
  });
}

/**
 * Runs Scheduled Job Type `id` once more, now, without moving its schedule
 * (Frappe's "Execute"): enqueues a queue job for its method, as its user, in
 * its queue, with a `Start` log row (no occurrence) that the scheduler
 * closes when the job ends. `last_execution` and `last_job_id`, which the
 * next run is computed from, are not written, and a stopped type stays
 * stopped. The job, the log row and the `run_now` action row commit
 * together. The job gets no retries and the queue's time limit (the
 * scheduler's own runs take the queue's configured retries).
 * @throws NotFoundError, InvalidUserError (the type's user missing, inactive or replaced)
 */
export async function runTypeOnceMore(
  backend: Backend,
  options: ResolvedShared,
  id: number,
  by: Operator,
): Promise<HrpCronJob> {
  checkId("typeId", id);
  const now = options.now();
  return commitOnce(backend, options, { operation: "runTypeNow", typeId: id }, async (m) => {
    const type = await findType(m, id);
    if (!type) throw new NotFoundError("scheduled_job_type", id);
    const user = await extraRunUser(options, m, type.userId, type.userKey);
    const method = splitMethodName(type.method);
    if (!method) throw new InvalidStateError(`Scheduled job type ${id} has no model.method: ${type.method}`, { id });
    const values: NewJob = {
      name: `${type.method} (${type.frequency})`,
      model: method.model,
      function: method.method,
      args: "[]",
      priority: DEFAULTS.jobPriority,
      userId: type.userId,
      userKey: userKeyOf(user),
      queue: type.queue,
      timeoutMs: null,
      concurrencyKey: null,
      concurrencyLimit: null,
      dateCreated: now,
      state: "pending",
      dateStarted: null,
      dateDone: null,
      excInfo: null,
      createUid: type.userId,
      createDate: now,
      kind: "queue",
      jobKey: null,
      maxRetries: 0,
      attempts: 0,
      retryBackoffMs: null,
      workerId: null,
      onSuccess: null,
      onFailure: null,
      traceContext: null,
    };
    const job = await insertJob(backend, m, values, { nextcall: now, doall: false });
    await logManualStart(m, type, job.id, now);
    await backend.announceWork(m, [workBandOf(values)]);
    await recordAction(backend, m, by, now, {
      action: "run_now",
      targetType: "job_type",
      targetId: id,
      affected: 1,
      outcome: `job ${job.id} runs ${type.method} once now; the schedule is unchanged${type.stopped ? " (stopped)" : ""}`,
    });
    return job;
  });
}

/** The user an extra run runs as: the row's, still active and still the same person. @throws InvalidUserError */
export async function extraRunUser(
  options: ResolvedShared,
  m: EntityManager,
  userId: number,
  userKey: string | null,
): ReturnType<typeof requireActiveUser> {
  return checkUserKey(await requireActiveUser(options.userResolver, m, userId), userKey);
}
