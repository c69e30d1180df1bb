import type { RunResult } from "../core/types";
import type { IrCron } from "../schema/entities/IrCron";
import type { Failure, Success } from "../store/outcomes";

/** How one job of a batch ended, before the batch commits. */
export type JobOutcome =
  | { readonly kind: "success"; readonly success: Success }
  | { readonly kind: "failure"; readonly failure: Failure; readonly error: string }
  | { readonly kind: "recorded"; readonly result: RunResult };

/** The fields of a {@link RunResult} that name the cron. */
export function resultBase(
  cron: IrCron,
): Pick<RunResult, "cronId" | "jobId" | "name" | "model" | "function" | "userId"> {
  return {
    cronId: cron.id,
    jobId: cron.hrpCronJobId,
    name: cron.name,
    model: cron.model,
    function: cron.function,
    userId: cron.userId,
  };
}

/** A run that did not happen (the claim was lost, the database stayed busy): the cron stays due. */
export function skipped(cron: IrCron, error: string): RunResult {
  return { ...resultBase(cron), outcome: "skipped", calls: 0, error };
}
