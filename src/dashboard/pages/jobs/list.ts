import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import type { HrpCronJob } from "../../../schema/entities/HrpCronJob";
import { HRP_CRON_JOB_STATES } from "../../../schema/entities/HrpCronJob";
import { csrfInput, pager, stateBadge, table } from "../../view/components";
import { formatDate, formatDuration } from "../../view/format";
import { FILTER_FIELDS, readBefore, jobSearchOf } from "./filter";

/**
 * The job list: state tabs, a filter kept in the URL, newest first with
 * keyset paging (each page reads at most `pageSize + 1` rows by index
 * however deep it is), and for users who may act a selection with bulk
 * retry and cancel, on the selection or on everything matching.
 */
export async function jobsPage(ctx: PageContext): Promise<PageResult> {
  const { t } = ctx;
  const search = await jobSearchOf(ctx, ctx.query);
  const beforeId = readBefore(ctx.query);
  const size = ctx.options.pageSize;
  const rows = await ctx.admin.listJobs({ ...search, beforeId, limit: size + 1 });
  const jobs = rows.slice(0, size);
  const next = rows.length > size ? jobs[jobs.length - 1].id : null;
  const logins = await ctx.admin.userLogins(jobs.map((j) => j.userId));
  return {
    kind: "page",
    title: t("jobs.title"),
    nav: "jobs",
    body: html`${stateTabs(ctx)}${filterForm(ctx)}
      <div id="jobs-results" data-live>${resultsForm(ctx, jobs, logins)} ${pager(ctx, next)}</div>`,
  };
}

function stateTabs(ctx: PageContext): SafeHtml {
  const current = ctx.query.get("state") || "all";
  const tab = (state: string) => {
    const q = new URLSearchParams(ctx.query);
    q.delete("before");
    if (state === "all") q.delete("state");
    else q.set("state", state);
    return html`<a href="${ctx.href("/jobs", q)}" ${state === current ? html` aria-current="page"` : ""} class="tab"
      >${ctx.t(`state.${state}`)}</a
    >`;
  };
  return html`<nav class="tabs" aria-label="${ctx.t("jobs.tabs")}">${["all", ...HRP_CRON_JOB_STATES].map(tab)}</nav>`;
}

function filterForm(ctx: PageContext): SafeHtml {
  const { t } = ctx;
  const v = (name: string) => ctx.query.get(name) ?? "";
  const field = (name: string, label: string, attrs: SafeHtml = html``) =>
    html`<label>${label}<input name="${name}" value="${v(name)}" ${attrs} /></label>`;
  return html`<form
    method="get"
    action="${ctx.href("/jobs")}"
    class="filters"
    role="search"
    aria-label="${t("jobs.filter")}"
  >
    ${ctx.query.get("state") && html`<input type="hidden" name="state" value="${v("state")}" />`}
    <label class="wide"
      >${t("jobs.filter.q")}<input name="q" type="search" value="${v("q")}" placeholder="${t("jobs.filter.q.hint")}"
    /></label>
    ${field("queue", t("jobs.filter.queue"))}
    ${field("method", t("jobs.filter.method"), html`placeholder="${t("jobs.filter.method.hint")}"`)}
    ${field("user", t("jobs.filter.user"), html`inputmode="numeric" size="6"`)}
    ${field("since", t("jobs.filter.since"), html`type="datetime-local" step="1"`)}
    ${field("until", t("jobs.filter.until"), html`type="datetime-local" step="1"`)}
    ${field("error", t("jobs.filter.error"))}
    <div class="buttons">
      <button type="submit" class="primary">${t("common.apply")}</button>
      <a href="${ctx.href("/jobs", ctx.query.get("state") ? { state: v("state") } : {})}">${t("common.clear")}</a>
    </div>
    <p class="help">${t("jobs.filter.help")}</p>
  </form>`;
}

function resultsForm(ctx: PageContext, jobs: readonly HrpCronJob[], logins: ReadonlyMap<number, string>): SafeHtml {
  const { t } = ctx;
  const retry = ctx.access.can("retry");
  const cancel = ctx.access.can("cancel");
  const selectable = retry || cancel;
  const headers = [
    selectable ? html`<input type="checkbox" data-select-all aria-label="${t("jobs.selectAll")}" />` : null,
    t("common.id"),
    t("common.method"),
    t("common.queue"),
    t("common.state"),
    t("common.user"),
    t("common.created"),
    t("common.duration"),
    t("jobs.col.attempts"),
    t("jobs.col.lastError"),
  ].filter((h) => h !== null);
  const rows = jobs.map(
    (j) =>
      html`<tr>
        ${selectable ? html`<td><input type="checkbox" name="ids" value="${j.id}" aria-label="${t("jobs.select", { id: j.id })}" /></td>` : ""}
        <td class="num"><a href="${ctx.href(`/jobs/${j.id}`)}">${j.id}</a></td>
        <td class="method" title="${j.name}">${j.model}.${j.function}</td>
        <td>${j.queue}</td>
        <td>${stateBadge(ctx, j.state)}</td>
        <td>${logins.get(j.userId) ?? `#${j.userId}`}</td>
        <td class="date">${formatDate(j.dateCreated, ctx.options.timeZone)}</td>
        <td class="num">
          ${j.dateStarted && j.dateDone ? formatDuration(j.dateDone.getTime() - j.dateStarted.getTime()) : "—"}
        </td>
        <td class="num">${j.attempts}${j.maxRetries > 0 ? `/${j.maxRetries + 1}` : ""}</td>
        <td class="error-cell" title="${firstLine(j.excInfo)}">${firstLine(j.excInfo)}</td>
      </tr>`,
  );
  const list = table(ctx, headers, rows, { id: "jobs-table" });
  if (!selectable) return list;
  const hidden = FILTER_FIELDS.map((f) => {
    const v = ctx.query.get(f);
    return v ? html`<input type="hidden" name="${f}" value="${v}" />` : null;
  });
  return html`<form method="post" action="${ctx.href("/jobs/bulk")}" class="bulk" aria-label="${t("jobs.selected")}">
    ${csrfInput(ctx)}${hidden}<input type="hidden" name="back" value="${backOf(ctx)}" />
    <div class="bulk-bar">
      ${
        retry &&
        html`<button type="submit" name="do" value="retry:selected">${t("jobs.bulk.retrySelected")}</button>
          <button type="submit" name="do" value="retry:filter">${t("jobs.bulk.retryAll")}</button>`
      }
      ${
        cancel &&
        html`<button type="submit" name="do" value="cancel:selected" class="danger">
            ${t("jobs.bulk.cancelSelected")}
          </button>
          <button type="submit" name="do" value="cancel:filter" class="danger">${t("jobs.bulk.cancelAll")}</button>`
      }
      <span class="selection-count" data-selection-count></span>
    </div>
    ${list}
  </form>`;
}

function backOf(ctx: PageContext): string {
  const q = ctx.query.toString();
  return q === "" ? ctx.path : `${ctx.path}?${q}`;
}

/** The first line of an error (its message), cut to 160 characters. */
export function firstLine(text: string | null): string {
  if (!text) return "";
  const line = text.split("\n", 1)[0];
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}
