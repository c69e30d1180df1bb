import type { QueryDeepPartialEntity } from "typeorm";
import type { Backend } from "../backend";
import { writeOnce } from "../backend/commitOnce";
import { CurrentlyRunningError, InvalidStateError } from "../core/errors";
import type { Operator } from "../core/operator";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkId } from "../core/validate";
import type { IrCron } from "../schema/entities/IrCron";
import { recordAction } from "../store/actions";
import { findCron, jobOfCron, updateIdleCron, type NewCron } from "../store/crons";
import type { CronSpec } from "./serviceInput";
import { requireRunnable } from "../store/jobState";
import { triggerJob } from "../store/jobAdmin";

/** A recurring cron's row and edits of an idle cron (`HrpCronJobService.createCron`, `trigger`, `setActive`). */

/** The `ir_cron` row of a new recurring cron (`createCron`), from its checked spec and what the service decided. */
export function recurringCronRow(
  spec: CronSpec,
  who: Pick<NewCron, "userId" | "userKey" | "priority" | "intervalNumber" | "intervalType">,
  when: { nextcall: Date; numbercall: number; args: string; createUid: number; now: Date },
): NewCron {
  return {
    name: spec.name,
    active: spec.active ?? true,
    ...who,
    cronExpression: spec.cronExpression ?? null,
    tz: spec.timeZone ?? null,
    nextcall: when.nextcall,
    lastcall: null,
    numbercall: when.numbercall,
    doall: spec.doall ?? false,
    model: spec.model,
    function: spec.function,
    args: when.args,
    hrpCronJobId: null,
    failureCount: 0,
    firstFailureDate: null,
    runningWorker: null,
    runningSince: null,
    createUid: when.createUid,
    createDate: when.now,
    writeDate: when.now,
  };
}

/**
 * `runs`: the edit would let the cron run, so the cron of a finished job
 * is refused. The `ir_cron` row of a job is its record: the job row is
 * what runs, so a trigger makes the job due (`dueAt`), and deactivating
 * the cron of a pending job is refused (cancel the job instead).
 */
export async function editIdleCron(
  backend: Backend,
  options: ResolvedShared,
  cronId: number,
  values: QueryDeepPartialEntity<IrCron>,
  runs = false,
  dueAt?: Date,
  audit?: { readonly operator: Operator; readonly action: string },
): Promise<IrCron> {
  checkId("cronId", cronId);
  return writeOnce(backend, options, { operation: "cron edit", cronId }, undefined, async (manager) => {
    if (runs) await requireRunnable(backend, manager, cronId);
    const job = await jobOfCron(backend, manager, cronId);
    if (job?.state === "pending" && values.active === false)
      throw new InvalidStateError(
        `Cron ${cronId} belongs to job ${job.jobId}, which is pending: cancel the job (cancelJob(${job.jobId}), hrp-cron cancel ${job.jobId}) instead of deactivating its cron`,
        { cronId, jobId: job.jobId, state: job.state },
      );
    await updateIdleCron(backend, manager, cronId, values, options.now());
    if (job && dueAt && !(await triggerJob(backend, manager, job.jobId, dueAt)))
      throw new CurrentlyRunningError(cronId, null, job.jobId);
    const cron = (await findCron(manager, cronId))!;
    if (audit)
      await recordAction(backend, manager, audit.operator, options.now(), {
        action: audit.action,
        targetType: "cron",
        targetId: cronId,
        affected: 1,
        outcome: `cron ${cronId} is ${cron.active ? "active" : "inactive"}, next call ${cron.nextcall.toISOString()}`,
      });
    return cron;
  });
}
