import type { IrCron } from "../../../schema/entities/IrCron";
import type { ScheduledJobType } from "../../../schema/entities/ScheduledJobType";
import { listTypes } from "../../../store/scheduler";
import {
  cronRunStats,
  recentCronRuns,
  typeLogPage,
  typeRunStats,
  type RunMark,
  type RunStats,
} from "../../../store/scheduleStats";
import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { actionButton, table } from "../../view/components";
import { formatAge, formatDate } from "../../view/format";
import { sparkline } from "./sparkline";
import {
  cronScheduleCode,
  cronScheduleWords,
  cronStatus,
  cronZone,
  SPARK_RUNS,
  statsCells,
  STATS_WINDOW_MS,
  statusBadge,
  typeExpression,
  typeScheduleWords,
  typeStatus,
} from "./shared";
import { failingTypeIds } from "./typeReads";
import { typeNextRun } from "./upcoming";

/**
 * Scheduled actions (Odoo's list of `ir.cron`, Frappe's Scheduled Job
 * Types): every recurring cron and every Scheduled Job Type with its
 * schedule in words and zone, next and last run, status, the last 7 days'
 * runs, failures and mean duration, a sparkline of its latest runs, and
 * for users who may act: run now (the schedule stays), activate and
 * deactivate (stop and start for a type).
 */
export async function cronsPage(ctx: PageContext): Promise<PageResult> {
  const { t } = ctx;
  const since = new Date(ctx.now.getTime() - STATS_WINDOW_MS);
  const crons = await ctx.admin.listRecurringCrons();
  const types = await listTypes(ctx.dataSource);
  const [cronStats, typeStats, cronSparks, zones] = await Promise.all([
    cronRunStats(ctx.dataSource, since),
    typeRunStats(ctx.dataSource, since),
    recentCronRuns(
      ctx.dataSource,
      crons.map((c) => c.id),
      SPARK_RUNS,
    ),
    ctx.admin.userTimeZones(crons.filter((c) => c.tz === null).map((c) => c.userId)),
  ]);
  const failing = await failingTypeIds(ctx);
  const typeSparks = new Map<number, RunMark[]>();
  for (const type of types) typeSparks.set(type.id, await recentTypeRuns(ctx, type.id));
  return {
    kind: "page",
    title: t("crons.title"),
    nav: "crons",
    body: html`<p class="help">${t("crons.intro", { days: 7 })}</p>
      <div id="crons-results" data-live>
        <section aria-labelledby="crons-recurring">
          <h2 id="crons-recurring">${t("crons.section.crons")}</h2>
          ${cronTable(ctx, crons, cronStats, cronSparks, zones)}
        </section>
        <section aria-labelledby="crons-types">
          <h2 id="crons-types">${t("crons.section.types")}</h2>
          ${typeTable(ctx, types, typeStats, typeSparks, failing)}
        </section>
      </div>`,
  };
}

/** The latest runs of a type, oldest first (its finished log rows). */
export async function recentTypeRuns(ctx: PageContext, typeId: number): Promise<RunMark[]> {
  const rows = await typeLogPage(ctx.dataSource, typeId, undefined, SPARK_RUNS);
  return rows
    .filter((r) => r.status !== "Start")
    .reverse()
    .map((r) => ({
      ok: r.status === "Complete",
      durationMs: r.dateEnd ? Math.max(0, r.dateEnd.getTime() - r.dateStart.getTime()) : null,
    }));
}

/** A date and its age: `2026-12-01 02:00:00` over `in 3 h 10 min`. */
export function dateWithAge(ctx: PageContext, date: Date | null): SafeHtml {
  if (!date) return html`—`;
  return html`${formatDate(date, ctx.options.timeZone)}<br /><span class="muted"
      >${formatAge(date, ctx.now, ctx.t)}</span
    >`;
}

function cronTable(
  ctx: PageContext,
  crons: readonly IrCron[],
  stats: ReadonlyMap<number, RunStats>,
  sparks: ReadonlyMap<number, RunMark[]>,
  zones: ReadonlyMap<number, string | null>,
): SafeHtml {
  const { t } = ctx;
  const acts = ctx.access.can("runNow") || ctx.access.can("activate") || ctx.access.can("deactivate");
  const headers = [
    t("crons.col.name"),
    t("common.method"),
    t("crons.col.schedule"),
    t("crons.col.tz"),
    t("crons.col.next"),
    t("crons.col.last"),
    t("common.state"),
    t("crons.col.runs"),
    t("crons.col.failures"),
    t("crons.col.avg"),
    t("crons.col.recent"),
    acts ? t("crons.col.actions") : null,
  ].filter((h) => h !== null);
  const rows = crons.map((c) => {
    const zone = cronZone(c, zones.get(c.userId));
    const status = cronStatus(c);
    return html`<tr>
      <td><a href="${ctx.href(`/crons/${c.id}`)}">${c.name}</a></td>
      <td class="method">${c.model}.${c.function}</td>
      <td title="${cronScheduleCode(c)}">${cronScheduleWords(ctx, c, zone)}</td>
      <td>${zone}</td>
      <td class="date">${status === "stopped" ? "—" : dateWithAge(ctx, c.nextcall)}</td>
      <td class="date">${dateWithAge(ctx, c.lastcall)}</td>
      <td>${statusBadge(ctx, status)}</td>
      ${statsCells(stats.get(c.id))}
      <td>${sparkline(sparks.get(c.id) ?? [], t("crons.spark", { n: (sparks.get(c.id) ?? []).length }))}</td>
      ${acts && html`<td class="actions">${cronButtons(ctx, c)}</td>`}
    </tr>`;
  });
  return table(ctx, headers, rows, { id: "crons-table" });
}

function typeTable(
  ctx: PageContext,
  types: readonly ScheduledJobType[],
  stats: ReadonlyMap<number, RunStats>,
  sparks: ReadonlyMap<number, RunMark[]>,
  failing: ReadonlySet<number>,
): SafeHtml {
  const { t } = ctx;
  const acts = ctx.access.can("runNow") || ctx.access.can("activate") || ctx.access.can("deactivate");
  const headers = [
    t("common.method"),
    t("crons.col.frequency"),
    t("crons.col.tz"),
    t("common.queue"),
    t("crons.col.next"),
    t("crons.col.last"),
    t("common.state"),
    t("crons.col.runs"),
    t("crons.col.failures"),
    t("crons.col.avg"),
    t("crons.col.recent"),
    acts ? t("crons.col.actions") : null,
  ].filter((h) => h !== null);
  const rows = types.map((type) => {
    const status = typeStatus(type, failing.has(type.id));
    let next: Date | null = null;
    try {
      next = status === "stopped" ? null : typeNextRun(type);
    } catch {
      next = null;
    }
    return html`<tr>
      <td class="method"><a href="${ctx.href(`/job-types/${type.id}`)}">${type.method}</a></td>
      <td title="${typeExpression(type) ?? type.frequency}">${typeScheduleWords(ctx, type)}</td>
      <td>${type.tz ?? "UTC"}</td>
      <td>${type.queue}</td>
      <td class="date">${dateWithAge(ctx, next)}</td>
      <td class="date">${dateWithAge(ctx, type.lastExecution)}</td>
      <td>${statusBadge(ctx, status)}</td>
      ${statsCells(stats.get(type.id))}
      <td>${sparkline(sparks.get(type.id) ?? [], t("crons.spark", { n: (sparks.get(type.id) ?? []).length }))}</td>
      ${acts && html`<td class="actions">${typeButtons(ctx, type)}</td>`}
    </tr>`;
  });
  return table(ctx, headers, rows, { id: "job-types-table" });
}

/** Run now, and activate or deactivate (with a reason), as the user may. */
export function cronButtons(ctx: PageContext, cron: IrCron): SafeHtml {
  const { t } = ctx;
  const base = `/crons/${cron.id}`;
  return html`${actionButton(ctx, "runNow", `${base}/run-now`, t("crons.runNow"))}
  ${
    cron.active
      ? actionButton(ctx, "deactivate", `${base}/deactivate`, t("crons.deactivate"), { reason: true, danger: true })
      : actionButton(ctx, "activate", `${base}/activate`, t("crons.activate"))
  }`;
}

/** Run now, and stop (with a reason) or start, as the user may. */
export function typeButtons(ctx: PageContext, type: ScheduledJobType): SafeHtml {
  const { t } = ctx;
  const base = `/job-types/${type.id}`;
  return html`${actionButton(ctx, "runNow", `${base}/run-now`, t("crons.runNow"))}
  ${
    type.stopped
      ? actionButton(ctx, "activate", `${base}/start`, t("crons.start"))
      : actionButton(ctx, "deactivate", `${base}/stop`, t("crons.stop"), { reason: true, danger: true })
  }`;
}
