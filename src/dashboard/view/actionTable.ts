import type { OperatorAction } from "../../api/serviceInput";
import type { PageContext } from "../context";
import { html, type SafeHtml } from "../html";
import { formatDate } from "./format";
import { table } from "./components";

/**
 * Rows of the operator action log (`hrp_cron_action`) as a table: the
 * action log page and the action history of a job, cron or queue page.
 */

/** Actions the log records that have a translated name (`actions.name.*`); others show as stored. */
export const NAMED_ACTIONS: ReadonlySet<string> = new Set([
  "retry",
  "cancel",
  "stop",
  "run_now",
  "purge",
  "trigger",
  "activate",
  "deactivate",
  "pause",
  "resume",
  "bulk_retry",
  "bulk_cancel",
  "create_job_type",
  "stop_job_type",
  "start_job_type",
  "scheduler_control",
]);

/** Bulk actions list this many of their jobs, then "…". */
const IDS_SHOWN = 5;

/** An action's name in the user's language. */
export function actionName(ctx: PageContext, action: string): string {
  return NAMED_ACTIONS.has(action) ? ctx.t(`actions.name.${action}`) : action;
}

/** The action log rows `actions` as a table, newest first as given; the empty-state text when there are none. */
export function actionTable(ctx: PageContext, actions: readonly OperatorAction[]): SafeHtml {
  const { t } = ctx;
  const rows = actions.map(
    (a) =>
      html`<tr>
        <td class="date">${formatDate(a.createdAt, ctx.options.timeZone)}</td>
        <td>${a.actor}</td>
        <td>${t(`actions.source.${a.source}`)}</td>
        <td class="mono">${a.ip ?? "—"}</td>
        <td class="agent" title="${a.userAgent ?? ""}">${shortAgent(a.userAgent)}</td>
        <td><span class="badge action-${a.action.replace(/[^a-z_]/g, "")}">${actionName(ctx, a.action)}</span></td>
        <td>${target(ctx, a)}</td>
        <td class="num">${a.affected}</td>
        <td class="reason">${a.reason ?? "—"}</td>
        <td class="outcome">${a.outcome}</td>
      </tr>`,
  );
  return table(
    ctx,
    [
      t("common.when"),
      t("common.by"),
      t("common.source"),
      t("common.ip"),
      t("actions.col.agent"),
      t("common.action"),
      t("common.target"),
      t("actions.col.affected"),
      t("common.reason"),
      t("common.outcome"),
    ],
    rows,
    { className: "grid action-log" },
  );
}

/** What an action was on, linked to its page. */
function target(ctx: PageContext, a: OperatorAction): SafeHtml | string {
  const { t } = ctx;
  const link = (path: string, text: string) => html`<a href="${ctx.href(path)}">${text}</a>`;
  switch (a.targetType) {
    case "job":
      return a.targetId === null
        ? t("actions.target.job", { id: "?" })
        : link(`/jobs/${a.targetId}`, t("actions.target.job", { id: a.targetId }));
    case "cron":
      return a.targetId === null ? "cron" : link(`/crons/${a.targetId}`, t("actions.target.cron", { id: a.targetId }));
    case "job_type":
      return a.targetId === null
        ? "job_type"
        : link(`/job-types/${a.targetId}`, t("actions.target.jobType", { id: a.targetId }));
    case "queue": {
      const queue = typeof a.filter?.queue === "string" ? a.filter.queue : null;
      return queue === null
        ? "queue"
        : link(`/queues/${encodeURIComponent(queue)}`, t("actions.target.queue", { queue }));
    }
    case "jobs": {
      const ids = a.targetIds ?? [];
      if (ids.length === 0) return t("actions.target.jobs", { n: a.affected });
      return html`${t("actions.target.jobs", { n: ids.length })}:
      ${ids.slice(0, IDS_SHOWN).map((id, i) => html`${i > 0 ? ", " : ""}${link(`/jobs/${id}`, String(id))}`)}${ids.length > IDS_SHOWN ? " …" : ""}`;
    }
    case "scheduler":
      return link("/", t("actions.target.scheduler"));
    default:
      return a.targetId === null ? a.targetType : `${a.targetType} ${a.targetId}`;
  }
}

/** A user agent in a few words: the browser or client and its major version (`Firefox 128`), else its first 40 characters. */
export function shortAgent(agent: string | null): string {
  if (!agent) return "—";
  for (const [re, name] of [
    [/Edg\/(\d+)/, "Edge"],
    [/OPR\/(\d+)/, "Opera"],
    [/Firefox\/(\d+)/, "Firefox"],
    [/Chrom(?:e|ium)\/(\d+)/, "Chrome"],
    [/Version\/(\d+)[\d.]* Safari\//, "Safari"],
  ] as const) {
    const m = re.exec(agent);
    if (m) return `${name} ${m[1]}`;
  }
  return agent.length > 40 ? `${agent.slice(0, 39)}…` : agent;
}
