import { HrpCronJobService } from "../../../api/automatedTasks";
import { backendFor } from "../../../backend";
import { ValidationError } from "../../../core/errors";
import { checkOperator, type OperatorContext } from "../../../core/operator";
import { setStoppedAudited } from "../../../scheduler/controls";
import type { PageContext, PageResult } from "../../context";
import { requireAction } from "../../view/components";
import { idParam } from "./shared";

/**
 * The Scheduled actions' operator actions, through the same API as the
 * CLI, each with the user's login, address, agent (and reason) so that the
 * change and its `hrp_cron_action` row commit together:
 * - a cron: run now (`JobAdmin.runCronNow`: one extra run, the schedule
 *   stays), activate, deactivate (`HrpCronJobService.setActive`; a reason
 *   is required);
 * - a Scheduled Job Type: run now (`JobAdmin.runJobTypeNow`), stop (a
 *   reason is required) and start (`setStoppedAudited`, as
 *   `Scheduler.setStopped`).
 * Then back to the page the form was on, with a message.
 */

type Params = Readonly<Record<string, string>>;

export async function cronRunNow(ctx: PageContext, params: Params): Promise<PageResult> {
  requireAction(ctx, "runNow");
  const id = idParam(params.id, "id");
  const job = await ctx.admin.runCronNow(id, operatorOf(ctx, false));
  return done(ctx, `/crons/${id}`, ctx.t("crons.done.runNow", { job: job.id, name: job.name }));
}

export async function cronActivate(ctx: PageContext, params: Params): Promise<PageResult> {
  requireAction(ctx, "activate");
  const id = idParam(params.id, "id");
  const cron = await service(ctx).setActive(id, true, operatorOf(ctx, false));
  return done(ctx, `/crons/${id}`, ctx.t("crons.done.activate", { name: cron.name }));
}

export async function cronDeactivate(ctx: PageContext, params: Params): Promise<PageResult> {
  requireAction(ctx, "deactivate");
  const id = idParam(params.id, "id");
  const cron = await service(ctx).setActive(id, false, operatorOf(ctx, true));
  return done(ctx, `/crons/${id}`, ctx.t("crons.done.deactivate", { name: cron.name }));
}

export async function typeRunNow(ctx: PageContext, params: Params): Promise<PageResult> {
  requireAction(ctx, "runNow");
  const id = idParam(params.id, "id");
  const job = await ctx.admin.runJobTypeNow(id, operatorOf(ctx, false));
  return done(ctx, `/job-types/${id}`, ctx.t("crons.done.runNow", { job: job.id, name: job.name }));
}

export async function typeStop(ctx: PageContext, params: Params): Promise<PageResult> {
  requireAction(ctx, "deactivate");
  return setStopped(ctx, idParam(params.id, "id"), true);
}

export async function typeStart(ctx: PageContext, params: Params): Promise<PageResult> {
  requireAction(ctx, "activate");
  return setStopped(ctx, idParam(params.id, "id"), false);
}

async function setStopped(ctx: PageContext, id: number, stopped: boolean): Promise<PageResult> {
  const by = checkOperator(operatorOf(ctx, stopped));
  await setStoppedAudited(backendFor(ctx.dataSource), ctx.now, id, stopped, by);
  return done(ctx, `/job-types/${id}`, ctx.t(stopped ? "crons.done.stop" : "crons.done.start", { id }));
}

/** The API service whose `setActive` the CLI's `activate` / `deactivate` call, on the dashboard's clock. */
function service(ctx: PageContext): HrpCronJobService {
  return new HrpCronJobService(ctx.dataSource, { now: () => ctx.now });
}

/** The request's operator with the form's reason. @throws ValidationError when `required` and there is none */
function operatorOf(ctx: PageContext, required: boolean): OperatorContext {
  const reason = ctx.form.get("reason")?.trim() || undefined;
  if (required && !reason)
    throw new ValidationError("reason", "is required to deactivate or stop (the action log records it)", reason);
  return { ...ctx.operator, ...(reason ? { reason } : {}) };
}

/** Back to the form's page (a dashboard path), else `fallback`, with `text` shown once. */
function done(ctx: PageContext, fallback: string, text: string): PageResult {
  const back = ctx.form.get("back");
  const to = back && /^\/(?![/\\])[^\s]*$/.test(back) ? back : fallback;
  return { kind: "redirect", to, flash: { kind: "ok", text } };
}
