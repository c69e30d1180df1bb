import type { PageContext } from "../../context";
import { html, type SafeHtml } from "../../html";
import { facts, table } from "../../view/components";
import { formatAge, formatCount, formatDate, formatPercent } from "../../view/format";
import type { OverviewData } from "./data";

/** The overview's scheduler block and its "what fails most" block. */

/**
 * The Frappe scheduler: enabled and paused, the leader and its lease, the
 * last tick, and the latest tick errors it recorded (Scheduled Job Types it
 * could not enqueue).
 */
export function schedulerPanel(ctx: PageContext, data: OverviewData): SafeHtml {
  const { t } = ctx;
  const s = data.scheduler;
  const leaseLive = s.leaderId !== null && s.leaderUntil !== null && s.leaderUntil.getTime() > ctx.now.getTime();
  const state = !s.enabled
    ? html`<span class="badge state-failed scheduler-state">${t("overview.scheduler.disabled")}</span>`
    : s.paused
      ? html`<span class="badge state-paused scheduler-state">${t("overview.scheduler.paused")}</span>`
      : html`<span class="badge state-active scheduler-state">${t("overview.scheduler.active")}</span>`;
  return html`<h2>${t("overview.scheduler")}</h2>
    ${facts([
      [t("common.state"), state],
      [
        t("overview.scheduler.leader"),
        s.leaderId === null
          ? html`<span class="muted">${t("common.none")}</span>`
          : html`<span class="mono">${s.leaderId}</span> ${
                leaseLive
                  ? html`<span class="muted"
                      >${t("overview.scheduler.leaseUntil", { date: formatDate(s.leaderUntil, ctx.options.timeZone) })}</span
                    >`
                  : html`<span class="badge state-failed">${t("overview.scheduler.leaseExpired")}</span>`
              }`,
      ],
      [
        t("overview.scheduler.lastTick"),
        s.lastTick === null
          ? html`<span class="muted">${t("overview.scheduler.never")}</span>`
          : html`${formatDate(s.lastTick, ctx.options.timeZone)}
              <span class="muted">(${formatAge(s.lastTick, ctx.now, t)})</span>`,
      ],
    ])}
    <h3>${t("overview.scheduler.errors")}</h3>
    ${table(
      ctx,
      [t("common.when"), t("common.method"), t("common.error")],
      data.enqueueFailures.map(
        (f) =>
          html`<tr>
            <td class="date">${formatDate(f.at, ctx.options.timeZone)}</td>
            <td class="method"><a href="${ctx.href(`/job-types/${f.typeId}`)}">${f.method}</a></td>
            <td class="error-cell" title="${f.error}">${f.error}</td>
          </tr>`,
      ),
      { id: "overview-tick-errors" },
    )}`;
}

/**
 * What fails most: methods with the most failed runs in the chart's window
 * (from the run records), recurring crons failing in a row
 * (`failure_count`), and Scheduled Job Types whose latest run failed.
 */
export function failingPanel(ctx: PageContext, data: OverviewData): SafeHtml {
  const { t } = ctx;
  const tz = ctx.options.timeZone;
  return html`<h2>${t("overview.failing")}</h2>
    <p class="muted">${t(`overview.failing.window.${data.range.key}`)}</p>
    ${table(
      ctx,
      [t("common.method"), t("overview.col.failed"), t("overview.col.rate"), t("overview.col.lastFailure")],
      data.failingMethods.map(
        (f) =>
          html`<tr data-method="${f.method}">
            <td class="method">
              <a href="${ctx.href("/jobs", { state: "failed", method: f.method })}">${f.method}</a>
            </td>
            <td class="num">${formatCount(f.failed)} / ${formatCount(f.runs)}</td>
            <td class="num">${formatPercent(f.failed, f.runs)}</td>
            <td class="date">${formatAge(f.lastFailedAt, ctx.now, t)}</td>
          </tr>`,
      ),
      { id: "overview-failing-methods" },
    )}
    <h3>${t("overview.failing.crons")}</h3>
    ${table(
      ctx,
      [
        t("common.id"),
        t("overview.col.name"),
        t("overview.col.inARow"),
        t("overview.col.since"),
        t("overview.col.active"),
      ],
      data.facts.failing.map(
        (c) =>
          html`<tr>
            <td class="num"><a href="${ctx.href(`/crons/${c.id}`)}">${c.id}</a></td>
            <td>${c.name}</td>
            <td class="num">${formatCount(c.failureCount)}</td>
            <td class="date">${formatDate(c.firstFailureDate, tz)}</td>
            <td>${c.active ? t("common.yes") : t("common.no")}</td>
          </tr>`,
      ),
      { id: "overview-failing-crons" },
    )}
    <h3>${t("overview.failing.types")}</h3>
    ${table(
      ctx,
      [t("common.method"), t("overview.col.failedAt"), t("common.error")],
      data.failingTypes.map(
        (f) =>
          html`<tr>
            <td class="method"><a href="${ctx.href(`/job-types/${f.id}`)}">${f.method}</a></td>
            <td class="date">${formatDate(f.failedAt, tz)}</td>
            <td class="error-cell" title="${f.error}">${f.error}</td>
          </tr>`,
      ),
      { id: "overview-failing-types" },
    )}`;
}
