import { ValidationError } from "../../../core/errors";
import type { IrCron } from "../../../schema/entities/IrCron";
import type { ScheduledJobType } from "../../../schema/entities/ScheduledJobType";
import { DEFAULTS } from "../../../core/options";
import { expressionOf } from "../../../scheduling/frequencies";
import { planOf } from "../../../scheduling";
import type { RunStats } from "../../../store/scheduleStats";
import type { PageContext } from "../../context";
import { html, type SafeHtml } from "../../html";
import { formatDuration } from "../../view/format";
import { describeCron, describeFrequency, describeInterval } from "./describe";

/** What the Scheduled actions pages share: status, schedule words, statistics, ids. */

/** How far back the run statistics look. */
export const STATS_WINDOW_MS = 7 * 86_400_000;
/** How far ahead the upcoming runs look. */
export const UPCOMING_WINDOW_MS = 86_400_000;
/** Runs in a sparkline. */
export const SPARK_RUNS = 30;

/** A scheduled action's status: `stopped` (inactive, out of calls), `failing` (its latest run failed), else `active`. */
export type CronStatus = "active" | "stopped" | "failing";

export function cronStatus(cron: IrCron): CronStatus {
  if (!cron.active || cron.numbercall === 0) return "stopped";
  return cron.failureCount > 0 ? "failing" : "active";
}

export function typeStatus(type: ScheduledJobType, failing: boolean): CronStatus {
  if (type.stopped) return "stopped";
  return failing ? "failing" : "active";
}

export function statusBadge(ctx: PageContext, status: CronStatus): SafeHtml {
  return html`<span class="badge cron-${status}">${ctx.t(`crons.status.${status}`)}</span>`;
}

/** The zone a cron's schedule is read in: its own, else its user's, else UTC. */
export function cronZone(cron: IrCron, userTz: string | null | undefined): string {
  return cron.tz ?? userTz ?? "UTC";
}

/** A cron's schedule in words; a calendar interval says its time of day (from `nextcall`, in `zone`). */
export function cronScheduleWords(ctx: PageContext, cron: IrCron, zone: string): string {
  if (cron.cronExpression) return describeCron(cron.cronExpression, ctx.t);
  let at: string | undefined;
  try {
    at = new Date(planOf(cron.nextcall, zone)).toISOString().slice(11, 16);
  } catch {
    at = undefined;
  }
  return describeInterval(cron.intervalType, cron.intervalNumber, ctx.t, at);
}

/** A cron's schedule as stored: its expression, or `N type`. */
export function cronScheduleCode(cron: IrCron): string {
  return cron.cronExpression ?? `${cron.intervalNumber} ${cron.intervalType}`;
}

/** A type's expression (`expressionOf`), or null when it no longer reads. */
export function typeExpression(type: ScheduledJobType): string | null {
  try {
    return expressionOf(type.frequency, type.cronFormat, DEFAULTS.schedulerIntervalMinutes, type.tz ?? "UTC");
  } catch {
    return null;
  }
}

/** A type's frequency in words. */
export function typeScheduleWords(ctx: PageContext, type: ScheduledJobType): string {
  const expression = typeExpression(type);
  return expression === null ? type.frequency : describeFrequency(type.frequency, expression, ctx.t);
}

/** Runs, failures and mean duration, as table cells. */
export function statsCells(stats: RunStats | undefined): SafeHtml {
  return html`<td class="num">${stats?.runs ?? 0}</td>
    <td class="num${stats && stats.failures > 0 ? " error-text" : ""}">${stats?.failures ?? 0}</td>
    <td class="num">${formatDuration(stats?.avgMs ?? null)}</td>`;
}

/** A route's `:id`. @throws ValidationError naming `field` */
export function idParam(value: string | undefined, field: string): number {
  if (value === undefined || !/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647)
    throw new ValidationError(field, "must be a positive whole number", value);
  return Number(value);
}
