import { cronRunPage, cronRunStats, type RunStats } from "../../../store/scheduleStats";
import type { IrCron } from "../../../schema/entities/IrCron";
import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { facts, stateBadge, table } from "../../view/components";
import { formatDate, formatDuration } from "../../view/format";
import { actionHistory, errorText, logPage } from "./history";
import { cronButtons, dateWithAge } from "./list";
import {
  cronScheduleCode,
  cronScheduleWords,
  cronStatus,
  cronZone,
  idParam,
  STATS_WINDOW_MS,
  statusBadge,
  UPCOMING_WINDOW_MS,
} from "./shared";
import { upcomingCronRuns, type Upcoming } from "./upcoming";

/**
 * One recurring cron (Odoo's Scheduled Action form): what it calls, as
 * whom, its schedule in words and as stored, its zone, next and last run,
 * status and failure counts; its runs planned for the next 24 hours
 * (computed from its schedule with the dashboard's clock); its run log,
 * newest first, page by page, each failed run's error in full; and its
 * own action history. The `ir_cron` row of a one-shot job leads to the job.
 */
export async function cronPage(ctx: PageContext, params: Readonly<Record<string, string>>): Promise<PageResult> {
  const { t } = ctx;
  const id = idParam(params.id, "id");
  const cron = await ctx.admin.getCron(id);
  if (cron.hrpCronJobId !== null) return { kind: "redirect", to: `/jobs/${cron.hrpCronJobId}` };
  const [logins, zones, stats] = await Promise.all([
    ctx.admin.userLogins([cron.userId]),
    ctx.admin.userTimeZones([cron.userId]),
    cronRunStats(ctx.dataSource, new Date(ctx.now.getTime() - STATS_WINDOW_MS)),
  ]);
  const zone = cronZone(cron, zones.get(cron.userId));
  const upcoming = upcomingCronRuns(cron, zones.get(cron.userId) ?? null, ctx.now, UPCOMING_WINDOW_MS);
  const log = await logPage(ctx, (before, limit) => cronRunPage(ctx.dataSource, id, before, limit));
  const runRows = log.rows.map(
    (r) =>
      html`<tr class="${r.state === "done" ? "" : "run-bad"}">
        <td class="num">${r.id}</td>
        <td>${stateBadge(ctx, r.state)}</td>
        <td class="date">${formatDate(r.scheduledAt, ctx.options.timeZone)}</td>
        <td class="date">${formatDate(r.dateStart, ctx.options.timeZone)}</td>
        <td class="num">${formatDuration(r.durationMs)}</td>
        <td class="num">${r.calls}</td>
        <td>${r.workerId}</td>
        <td class="error-cell">${errorText(r.error)}</td>
      </tr>`,
  );
  return {
    kind: "page",
    title: t("crons.detail.title", { name: cron.name }),
    nav: "crons",
    body: html`<p><a href="${ctx.href("/crons")}">${t("crons.backToList")}</a></p>
      <div class="cron-actions">${cronButtons(ctx, cron)}</div>
      ${cronFacts(ctx, cron, zone, logins.get(cron.userId) ?? `#${cron.userId}`, stats.get(id))}
      ${upcomingSection(ctx, upcoming, cron.active ? null : t("crons.upcoming.inactive"))}
      <section aria-labelledby="run-log">
        <h2 id="run-log">${t("crons.runLog")}</h2>
        ${table(
          ctx,
          [
            t("crons.col.run"),
            t("common.state"),
            t("crons.col.scheduledFor"),
            t("common.started"),
            t("common.duration"),
            t("crons.col.calls"),
            t("common.worker"),
            t("common.error"),
          ],
          runRows,
          { id: "run-log-table" },
        )}
        ${log.pager}
      </section>
      ${await actionHistory(ctx, "cron", id)}`,
  };
}

function cronFacts(ctx: PageContext, cron: IrCron, zone: string, login: string, stats: RunStats | undefined): SafeHtml {
  const { t } = ctx;
  return facts([
    [t("common.method"), html`<code>${cron.model}.${cron.function}</code>`],
    [t("crons.fact.args"), html`<code>${cron.args}</code>`],
    [t("common.user"), login],
    [t("crons.col.schedule"), html`${cronScheduleWords(ctx, cron, zone)} <code>${cronScheduleCode(cron)}</code>`],
    [t("crons.col.tz"), zone],
    [t("common.state"), statusBadge(ctx, cronStatus(cron))],
    [t("crons.col.next"), dateWithAge(ctx, cron.nextcall)],
    [t("crons.col.last"), dateWithAge(ctx, cron.lastcall)],
    [t("common.queue"), cron.queue],
    [t("crons.fact.priority"), cron.priority],
    [t("crons.fact.numbercall"), cron.numbercall === -1 ? t("crons.fact.unlimited") : cron.numbercall],
    [t("crons.fact.doall"), t(cron.doall ? "common.yes" : "common.no")],
    [
      t("crons.fact.failures"),
      html`${cron.failureCount}
      ${cron.firstFailureDate ? html`<span class="muted">(${t("crons.fact.since", { date: formatDate(cron.firstFailureDate, ctx.options.timeZone) })})</span>` : ""}`,
    ],
    [
      t("crons.fact.running"),
      cron.runningWorker ? `${cron.runningWorker} · ${formatDate(cron.runningSince, ctx.options.timeZone)}` : "—",
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

/** The runs planned in the next 24 hours, or why there are none. */
export function upcomingSection(ctx: PageContext, upcoming: Upcoming, none: string | null): SafeHtml {
  const { t } = ctx;
  const body =
    upcoming.total === 0
      ? html`<p class="empty">${none ?? t("crons.upcoming.none")}</p>`
      : html`<p>${t(upcoming.more ? "crons.upcoming.countMore" : "crons.upcoming.count", { n: upcoming.total })}</p>
          <ol class="upcoming">
            ${upcoming.times.map((at) => html`<li><time datetime="${at.toISOString()}">${formatDate(at, ctx.options.timeZone)}</time></li>`)}
          </ol>
          ${upcoming.total > upcoming.times.length && html`<p class="muted">${t("crons.upcoming.more", { n: upcoming.total - upcoming.times.length })}</p>`}`;
  return html`<section aria-labelledby="upcoming">
    <h2 id="upcoming">${t("crons.upcoming")}</h2>
    ${body}
  </section>`;
}
