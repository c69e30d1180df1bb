import { ValidationError } from "../../../core/errors";
import type { HrpCronJob } from "../../../schema/entities/HrpCronJob";
import type { Handler, PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import type { DashboardAction } from "../../security/access";
import { actionButton, requireAction } from "../../view/components";

/**
 * The job detail's actions on one job: retry, cancel, stop and run now,
 * each a POST through the same `JobAdmin` call as the CLI with the
 * operator (login, address, user agent) and the reason, so the change and
 * its action-log row commit together; back to the job with a message.
 */

/** The actions job `job`'s state allows, as buttons the user may press (none for a read-only user). */
export function jobActionButtons(ctx: PageContext, job: HrpCronJob): SafeHtml {
  const { t } = ctx;
  const path = (verb: string) => `/jobs/${job.id}/${verb}`;
  const idle = job.runningWorker === null;
  const due = job.nextcall ?? job.dateCreated;
  return html`${[
    idle &&
      (job.state === "failed" || job.state === "cancelled") &&
      actionButton(ctx, "retry", path("retry"), t("job.do.retry")),
    idle &&
      job.state === "pending" &&
      due.getTime() > ctx.now.getTime() &&
      actionButton(ctx, "runNow", path("run"), t("job.do.run")),
    idle &&
      (job.state === "pending" || job.state === "failed") &&
      actionButton(ctx, "cancel", path("cancel"), t("job.do.cancel"), {
        reason: true,
        danger: true,
        confirm: t("job.confirm.cancel", { id: job.id }),
      }),
    !idle &&
      actionButton(ctx, "stop", path("stop"), t("job.do.stop"), {
        reason: true,
        danger: true,
        confirm: t("job.confirm.stop", { id: job.id }),
      }),
  ].map((b) => b || null)}`;
}

/** The route's id as a job id. @throws ValidationError */
export function jobIdOf(text: string | undefined): number {
  if (!text || !/^\d{1,10}$/.test(text) || Number(text) < 1) throw new ValidationError("id", "must be a job id", text);
  return Number(text);
}

/** One action's handler: checks access and the reason, calls `act`, and goes back to the job with `done`'s message. */
function jobAction(
  action: DashboardAction,
  needsReason: boolean,
  act: (ctx: PageContext, jobId: number, operator: PageContext["operator"]) => Promise<unknown>,
): Handler {
  return async (ctx, params): Promise<PageResult> => {
    requireAction(ctx, action);
    const jobId = jobIdOf(params.id);
    const reason = ctx.form.get("reason")?.trim() || undefined;
    if (needsReason && !reason)
      throw new ValidationError("reason", `is required to ${action} a job (the action log records it)`, reason);
    await act(ctx, jobId, { ...ctx.operator, ...(reason ? { reason } : {}) });
    return {
      kind: "redirect",
      to: `/jobs/${jobId}`,
      flash: { kind: "ok", text: ctx.t(`job.done.${action}`, { id: jobId }) },
    };
  };
}

/** POST `/jobs/:id/retry`: a failed or cancelled job pending again, due now. */
export const retryJobAction = jobAction("retry", false, (ctx, id, op) => ctx.admin.retryJob(id, undefined, op));

/** POST `/jobs/:id/cancel` (reason required): a pending or failed job will not run. */
export const cancelJobAction = jobAction("cancel", true, (ctx, id, op) => ctx.admin.cancelJob(id, op));

/** POST `/jobs/:id/stop` (reason required): the worker running it aborts it at its next heartbeat. */
export const stopJobAction = jobAction("stop", true, (ctx, id, op) => ctx.admin.stopJob(id, op));

/** POST `/jobs/:id/run`: a pending job due later becomes due now (`JobAdmin.runJobNow`). */
export const runJobNowAction = jobAction("runNow", false, (ctx, id, op) => ctx.admin.runJobNow(id, op));
