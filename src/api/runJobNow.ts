import type { Backend } from "../backend";
import { writeOnce } from "../backend/commitOnce";
import { InvalidStateError } from "../core/errors";
import type { Operator } from "../core/operator";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkId } from "../core/validate";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import { recordAction } from "../store/actions";
import { jobForChange, makeJobDue } from "../store/jobAdmin";

/**
 * Run now (`JobAdmin.runJobNow`): a pending job due later (a delayed job,
 * or one waiting for a retry's backoff) becomes due now, so the next free
 * worker of its queue claims it. Nothing runs here. Its planned date
 * (`dateCreated`) stays; recorded in the action log as `run_now`, in the
 * same transaction.
 * @throws NotFoundError; CurrentlyRunningError when a worker runs it;
 *   InvalidStateError when it is not pending (`retryJob` a failed one) or already due
 */
export async function makeJobDueNow(
  backend: Backend,
  options: ResolvedShared,
  jobId: number,
  operator: Operator,
): Promise<HrpCronJob> {
  checkId("jobId", jobId);
  const now = options.now();
  return writeOnce(backend, options, { operation: "runJobNow", jobId }, undefined, async (m) => {
    const before = await jobForChange(m, jobId, ["pending"], "run now");
    const due = before.nextcall ?? before.dateCreated;
    if (due.getTime() <= now.getTime())
      throw new InvalidStateError(
        `Job ${jobId} is already due (since ${due.toISOString()}): a worker of queue ${before.queue} takes it when one is free`,
        { jobId, state: before.state },
      );
    const changed = await makeJobDue(backend, m, jobId, now);
    await recordAction(backend, m, operator, now, {
      action: "run_now",
      targetType: "job",
      targetId: jobId,
      affected: 1,
      outcome: `job ${jobId} is due now (was due ${due.toISOString()})`,
    });
    return changed;
  });
}
