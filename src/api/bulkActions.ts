import type { Backend } from "../backend";
import { retriedTransaction } from "../backend/retry";
import { InvalidStateError, ValidationError } from "../core/errors";
import type { Operator } from "../core/operator";
import { optionKeys } from "../core/options";
import type { ResolvedShared } from "../core/resolveOptions";
import { checkInt, checkOptions, optionalBool } from "../core/validate";
import { HRP_CRON_JOB_STATES, type HrpCronJobState } from "../schema/entities/HrpCronJob";
import { recordAction } from "../store/actions";
import { matchingJobIds, type BulkJobFilter } from "../store/bulkJobs";
import { cancelJob, requeueJob } from "../store/jobAdmin";
import { checkJobFields, checkListFields } from "./serviceInput";

export type { BulkJobFilter } from "../store/bulkJobs";

/** How a bulk action runs. */
export interface BulkOptions {
  /** Only count the jobs it would change. @defaultValue false */
  readonly dryRun?: boolean;
  /** The most jobs it may change; more matching jobs refuse the whole action. @defaultValue 1000 */
  readonly max?: number;
}

/** What a bulk action changed (or, for a dry run, would change). */
export interface BulkReport {
  readonly action: "retry" | "cancel";
  /** The jobs matched (and changed, unless `dryRun`), oldest first. */
  readonly jobIds: number[];
  readonly dryRun: boolean;
}

const FILTER_KEYS = optionKeys<BulkJobFilter>({
  state: true,
  queue: true,
  model: true,
  function: true,
  userId: true,
  since: true,
  until: true,
  errorContains: true,
  args: true,
  ids: true,
});
const OPTION_KEYS = optionKeys<BulkOptions>({ dryRun: true, max: true });
/** The largest `max` a bulk action takes. */
const MAX_BULK = 100_000;

/** The jobs each bulk action may change, by state. */
const ELIGIBLE: Record<BulkReport["action"], readonly HrpCronJobState[]> = {
  retry: ["failed", "cancelled"],
  cancel: ["pending", "failed"],
};

/**
 * Retries or cancels every unclaimed job matching `filter` (of the states
 * the action applies to: retry failed and cancelled jobs, cancel pending
 * and failed ones), each as the single-job action does, all in one
 * transaction with one action-log row (the filter, the count, the ids).
 * More than `max` matching jobs refuse the whole action; `dryRun` only
 * says which jobs match.
 * @throws ValidationError for a bad filter or options; InvalidStateError when more than `max` jobs match
 */
export async function bulkAction(
  backend: Backend,
  options: ResolvedShared,
  action: BulkReport["action"],
  filter: BulkJobFilter,
  bulk: BulkOptions,
  operator: Operator,
): Promise<BulkReport> {
  const f = checkBulkFilter(filter, ELIGIBLE[action]);
  const o = checkOptions("options", bulk, OPTION_KEYS);
  const dryRun = optionalBool("dryRun", o.dryRun, false);
  const max = checkInt("max", o.max ?? 1000, 1, MAX_BULK);
  const states = f.state ? [f.state] : ELIGIBLE[action];
  return retriedTransaction(backend, options, async (m) => {
    const ids = await matchingJobIds(backend, m, states, f, max + 1);
    if (ids.length > max)
      throw new InvalidStateError(
        `more than ${max} jobs match this ${action}; narrow the filter or raise max (the CLI's --max): nothing was changed`,
        { action, max },
      );
    if (dryRun || ids.length === 0) return { action, jobIds: ids, dryRun };
    const now = options.now();
    for (const id of ids) {
      if (action === "retry") await requeueJob(backend, m, id, now, options.now);
      else await cancelJob(backend, m, id, options.now);
    }
    await recordAction(backend, m, operator, now, {
      action: `bulk_${action}`,
      targetType: "jobs",
      targetIds: ids,
      filter: { ...f, states },
      affected: ids.length,
      outcome: `${ids.length} job(s) ${action === "retry" ? "pending again" : "cancelled"}`,
    });
    return { action, jobIds: ids, dryRun };
  });
}

function checkBulkFilter(filter: BulkJobFilter, eligible: readonly HrpCronJobState[]): BulkJobFilter {
  const f = checkOptions("filter", filter, FILTER_KEYS);
  if (f.state !== undefined && !eligible.includes(f.state))
    throw new ValidationError(
      "state",
      HRP_CRON_JOB_STATES.includes(f.state) ? `must be ${eligible.join(" or ")} for this action` : `is not a job state`,
      f.state,
    );
  checkListFields(f);
  checkJobFields(f);
  return f;
}
