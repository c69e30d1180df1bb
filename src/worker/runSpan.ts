import { joinMethodName } from "../core/methodName";
import type { RunSpanEnd, RunSpanStart } from "../core/tracing";
import type { ClaimedRun } from "../store/claims";
import type { JobOutcome } from "./runResult";

/** What the span of claimed run `run` is started with (see `JobTracing.startRun`). */
export function runSpanStart(run: ClaimedRun, workerId: string): RunSpanStart {
  const { cron } = run;
  return {
    method: joinMethodName(cron.model, cron.function),
    name: cron.name,
    queue: cron.queue,
    cronId: cron.id,
    jobId: cron.hrpCronJobId,
    userId: cron.userId,
    attempt: run.attempt,
    workerId,
    traceContext: run.traceContext,
  };
}

/** How a run's span ends, from how its job ended before the batch's commit. */
export function runSpanEnd(outcome: JobOutcome): RunSpanEnd {
  switch (outcome.kind) {
    case "success":
      return { outcome: "done" };
    case "failure":
      return { outcome: "failed", error: outcome.failure.thrown };
    case "recorded":
      return { outcome: outcome.result.outcome, error: outcome.result.error };
  }
}
