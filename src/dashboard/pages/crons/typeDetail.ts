import { NotFoundError } from "../../../core/errors";
import type { ScheduledJobType } from "../../../schema/entities/ScheduledJobType";
import { findTypeById, failingTypeIds } from "./typeReads";
import { typeLogPage, typeRunStats, type RunStats } from "../../../store/scheduleStats";
import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { facts, table } from "../../view/components";
import { formatDate, formatDuration } from "../../view/format";
import { upcomingSection } from "./cronDetail";
import { actionHistory, errorText, logPage } from "./history";
import { dateWithAge, typeButtons } from "./list";
import {
  idParam,
  STATS_WINDOW_MS,
  statusBadge,
  typeExpression,
  typeScheduleWords,
  typeStatus,
  UPCOMING_WINDOW_MS,
} from "./shared";
import { typeNextRun, upcomingTypeRuns } from "./upcoming";

/**
 * One Scheduled Job Type (Frappe's form): method, frequency in words and
 * its expression, queue, zone, user, who declared it, last execution and
 * next run, status; its runs planned for the next 24 hours; its Scheduled
 * Job Log, newest first, page by page (each failure's error in full, the
 * job of each run); its own action history.
 */
export async function jobTypePage(ctx: PageContext, params: Readonly<Record<string, string>>): Promise<PageResult> {
  const { t } = ctx;
  const id = idParam(params.id, "id");
  const type = await findTypeById(ctx, id);
  if (!type) throw new NotFoundError("scheduled_job_type", id);
  const [logins, stats, failing] = await Promise.all([
    ctx.admin.userLogins([type.userId]),
    typeRunStats(ctx.dataSource, new Date(ctx.now.getTime() - STATS_WINDOW_MS)),
    failingTypeIds(ctx),
  ]);
  let upcoming;
  try {
    upcoming = upcomingTypeRuns(type, ctx.now, UPCOMING_WINDOW_MS);
  } catch {
    upcoming = { times: [], total: 0, more: false };
  }
  const log = await logPage(ctx, (before, limit) => typeLogPage(ctx.dataSource, id, before, limit));
  const logRows = log.rows.map(
    (r) =>
      html`<tr class="${r.status === "Failed" ? "run-bad" : ""}">
        <td class="num">${r.id}</td>
        <td><span class="badge log-${r.status.toLowerCase()}">${t(`crons.log.${r.status}`)}</span></td>
        <td class="date">
          ${r.scheduledFor ? formatDate(r.scheduledFor, ctx.options.timeZone) : t("crons.log.manual")}
        </td>
        <td class="date">${formatDate(r.dateStart, ctx.options.timeZone)}</td>
        <td class="date">${formatDate(r.dateEnd, ctx.options.timeZone)}</td>
        <td class="num">${r.dateEnd ? formatDuration(r.dateEnd.getTime() - r.dateStart.getTime()) : "—"}</td>
        <td class="num">
          ${r.hrpCronJobId ? html`<a href="${ctx.href(`/jobs/${r.hrpCronJobId}`)}">${r.hrpCronJobId}</a>` : "—"}
        </td>
        <td class="error-cell">${errorText(r.error)}</td>
      </tr>`,
  );
  return {
    kind: "page",
    title: t("crons.type.title", { method: type.method }),
    nav: "crons",
    body: html`<p><a href="${ctx.href("/crons")}">${t("crons.backToList")}</a></p>
      <div class="cron-actions">${typeButtons(ctx, type)}</div>
      ${typeFacts(ctx, type, logins.get(type.userId) ?? `#${type.userId}`, stats.get(id), failing.has(id))}
      ${upcomingSection(ctx, upcoming, type.stopped ? t("crons.upcoming.stopped") : null)}
      <section aria-labelledby="run-log">
        <h2 id="run-log">${t("crons.typeLog")}</h2>
        ${table(
          ctx,
          [
            t("crons.col.run"),
            t("common.state"),
            t("crons.col.scheduledFor"),
            t("common.started"),
            t("common.ended"),
            t("common.duration"),
            t("crons.col.job"),
            t("common.error"),
          ],
          logRows,
          { id: "run-log-table" },
        )}
        ${log.pager}
      </section>
      ${await actionHistory(ctx, "job_type", id)}`,
  };
}

function typeFacts(
  ctx: PageContext,
  type: ScheduledJobType,
  login: string,
  stats: RunStats | undefined,
  failing: boolean,
): SafeHtml {
  const { t } = ctx;
  let next: Date | null = null;
  try {
    next = type.stopped ? null : typeNextRun(type);
  } catch {
    next = null;
  }
  return facts([
    [t("common.method"), html`<code>${type.method}</code>`],
    [
      t("crons.col.frequency"),
      html`${typeScheduleWords(ctx, type)}
        <code>${type.frequency}${typeExpression(type) ? ` · ${typeExpression(type)}` : ""}</code>`,
    ],
    [t("crons.col.tz"), type.tz ?? "UTC"],
    [t("common.queue"), type.queue],
    [t("common.user"), login],
    [t("crons.fact.createdBy"), t(`crons.fact.createdBy.${type.createdBy}`)],
    [t("common.state"), statusBadge(ctx, typeStatus(type, failing))],
    [t("crons.col.next"), dateWithAge(ctx, next)],
    [t("crons.col.last"), dateWithAge(ctx, type.lastExecution)],
    [
      t("crons.fact.lastJob"),
      type.lastJobId ? html`<a href="${ctx.href(`/jobs/${type.lastJobId}`)}">${type.lastJobId}</a>` : "—",
    ],
    [
      t("crons.fact.stats", { days: 7 }),
      t("crons.fact.statsValue", {
        runs: stats?.runs ?? 0,
        failures: stats?.failures ?? 0,
        avg: formatDuration(stats?.avgMs ?? null),
      }),
    ],
  ]);
}
