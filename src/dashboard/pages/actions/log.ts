import { DateTime } from "luxon";
import { ValidationError } from "../../../core/errors";
import type { ActionFilter } from "../../../api/serviceInput";
import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { actionName, actionTable, NAMED_ACTIONS } from "../../view/actionTable";
import { pager } from "../../view/components";

/**
 * The operator action log (`/actions`): every `hrp_cron_action` row,
 * newest first, filtered from the URL — `by` (a login), `action`,
 * `target` (`job:42`, which includes bulk actions on job 42, `cron:7`,
 * `job_type:3`, `queue:reports`, or a kind alone: `queue`), `since` and
 * `until` (local date-times in the dashboard's time zone) — and paged by
 * keyset (`before`: the last id shown).
 */
export async function actionLogPage(ctx: PageContext): Promise<PageResult> {
  const { t } = ctx;
  const filter = actionFilterOf(ctx.query, ctx.options.timeZone);
  const size = ctx.options.pageSize;
  const rows = await ctx.admin.listActions({ ...filter, limit: size + 1 });
  const actions = rows.slice(0, size);
  const next = rows.length > size ? actions[actions.length - 1].id : null;
  return {
    kind: "page",
    title: t("actions.title"),
    nav: "actions",
    body: html`${filterForm(ctx)}
      <div id="actions-results" data-live>${actionTable(ctx, actions)} ${pager(ctx, next)}</div>`,
  };
}

/** Target kinds the `target` filter takes, with whether they need an id (`job:42`) or a name (`queue:reports`). */
const TARGETS: Readonly<Record<string, "id" | "name" | "none">> = {
  job: "id",
  cron: "id",
  job_type: "id",
  queue: "name",
  jobs: "none",
  scheduler: "none",
};

/**
 * The action log's filter read from `query`; the API checks the values again.
 * @throws ValidationError naming the field that cannot be read
 */
export function actionFilterOf(query: URLSearchParams, timeZone: string | undefined): ActionFilter {
  const out: { -readonly [K in keyof ActionFilter]: ActionFilter[K] } = {};
  const text = (name: string) => {
    const v = query.get(name)?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const by = text("by");
  if (by !== undefined) out.by = by;
  const action = text("action");
  if (action !== undefined) out.action = action;
  const target = text("target");
  if (target !== undefined) {
    const m = /^([a-z_]+)(?::(.+))?$/.exec(target);
    const kind = m ? TARGETS[m[1]] : undefined;
    if (!m || kind === undefined || (kind === "none" && m[2] !== undefined))
      throw new ValidationError(
        "target",
        `must be job:ID, cron:ID, job_type:ID, queue:NAME, or one of ${Object.keys(TARGETS).join(", ")}`,
        target,
      );
    const [, type, value] = m;
    if (value === undefined) out.targetType = type;
    else if (kind === "name") out.queue = value;
    else {
      if (!/^\d{1,10}$/.test(value)) throw new ValidationError("target", `${type}: must be followed by an id`, target);
      if (type === "job") out.jobId = Number(value);
      else [out.targetType, out.targetId] = [type, Number(value)];
    }
  }
  for (const field of ["since", "until"] as const) {
    const v = text(field);
    if (v === undefined) continue;
    const d = DateTime.fromISO(v, { zone: timeZone ?? "system" });
    if (!d.isValid) throw new ValidationError(field, "must be a date and time like 2026-12-01T08:30", v);
    out[field] = d.toJSDate();
  }
  const before = text("before");
  if (before !== undefined) {
    if (!/^\d{1,10}$/.test(before)) throw new ValidationError("before", "must be an action id", before);
    out.beforeId = Number(before);
  }
  return out;
}

function filterForm(ctx: PageContext): SafeHtml {
  const { t } = ctx;
  const v = (name: string) => ctx.query.get(name) ?? "";
  const field = (name: string, label: string, attrs: SafeHtml = html``) =>
    html`<label>${label}<input name="${name}" value="${v(name)}" ${attrs} /></label>`;
  return html`<form
    method="get"
    action="${ctx.href("/actions")}"
    class="filters"
    role="search"
    aria-label="${t("actions.filter")}"
  >
    ${field("by", t("actions.filter.by"))}
    <label
      >${t("common.action")}<select name="action">
        <option value="">${t("actions.filter.anyAction")}</option>
        ${[...NAMED_ACTIONS].map(
          (a) => html`<option value="${a}" ${a === v("action") ? html`selected` : ""}>${actionName(ctx, a)}</option>`,
        )}
      </select></label
    >
    ${field("target", t("actions.filter.target"), html`placeholder="job:42"`)}
    ${field("since", t("actions.filter.since"), html`type="datetime-local" step="1"`)}
    ${field("until", t("actions.filter.until"), html`type="datetime-local" step="1"`)}
    <div class="buttons">
      <button type="submit" class="primary">${t("common.apply")}</button>
      <a href="${ctx.href("/actions")}">${t("common.clear")}</a>
    </div>
    <p class="help">${t("actions.filter.help")}</p>
  </form>`;
}
