import { InvalidStateError, ValidationError } from "../../../core/errors";
import type { BulkJobFilter, BulkReport } from "../../../api/bulkActions";
import type { PageContext, PageResult } from "../../context";
import { html } from "../../html";
import { csrfInput, requireAction } from "../../view/components";
import { FILTER_FIELDS, jobSearchOf } from "./filter";

/**
 * Bulk retry and cancel, on a selection or on every job matching the
 * list's filter. The first POST previews: how many jobs the action would
 * change (a dry run of the same API call), which ones, the cap; the
 * second, confirmed, one acts: the API's `retryJobs`/`cancelJobs`, one
 * transaction, one action-log row with the reason (required to cancel).
 */
export async function bulkAction(ctx: PageContext): Promise<PageResult> {
  const { t, form } = ctx;
  const m = /^(retry|cancel):(selected|filter)$/.exec(form.get("do") ?? "");
  if (!m)
    throw new ValidationError(
      "do",
      "must be retry:selected, retry:filter, cancel:selected or cancel:filter",
      form.get("do"),
    );
  const action = m[1] as BulkReport["action"];
  const scope = m[2] as "selected" | "filter";
  requireAction(ctx, action);
  const back = form.get("back") ?? "/jobs";
  let filter: BulkJobFilter;
  if (scope === "selected") {
    const ids = form.getAll("ids");
    if (ids.length === 0)
      return { kind: "redirect", to: back, flash: { kind: "error", text: t("jobs.bulk.noneSelected") } };
    if (ids.some((id) => !/^\d{1,10}$/.test(id))) throw new ValidationError("ids", "must be job ids", ids);
    filter = { ids: ids.map(Number) };
  } else {
    filter = await jobSearchOf(ctx, form);
  }
  const run = (dryRun: boolean, reason?: string) => {
    const options = { dryRun, max: ctx.options.bulkMax };
    const operator = { ...ctx.operator, ...(reason ? { reason } : {}) };
    return action === "retry"
      ? ctx.admin.retryJobs(filter, options, operator)
      : ctx.admin.cancelJobs(filter, options, operator);
  };
  const verb = t(`jobs.bulk.verb.${action}`);

  if (form.get("confirmed") === "1") {
    const reason = form.get("reason")?.trim() || undefined;
    if (action === "cancel" && !reason)
      throw new ValidationError("reason", "is required to cancel jobs (the action log records it)", reason);
    const report = await run(false, reason);
    const n = report.jobIds.length;
    return {
      kind: "redirect",
      to: back,
      flash:
        n === 0
          ? { kind: "error", text: t("jobs.bulk.nothing", { verb }) }
          : { kind: "ok", text: t(`jobs.bulk.done.${action}`, { n }) },
    };
  }

  let ids: number[] | null;
  try {
    ids = (await run(true)).jobIds;
  } catch (error) {
    if (!(error instanceof InvalidStateError) || error.context.max === undefined) throw error;
    ids = null; // more than the cap
  }
  const hidden = [
    ...FILTER_FIELDS.map((f) => form.get(f)).map((v, i) =>
      v ? html`<input type="hidden" name="${FILTER_FIELDS[i]}" value="${v}" />` : null,
    ),
    ...(scope === "selected"
      ? form.getAll("ids").map((id) => html`<input type="hidden" name="ids" value="${id}" />`)
      : []),
  ];
  const preview =
    ids === null
      ? html`<p class="warning">${t("jobs.bulk.cap", { max: ctx.options.bulkMax })}</p>`
      : ids.length === 0
        ? html`<p class="warning">${t("jobs.bulk.nothing", { verb })}</p>`
        : html`<p class="preview">
              ${scope === "selected" ? t("jobs.bulk.preview.selected", { n: ids.length, m: form.getAll("ids").length, verb }) : t("jobs.bulk.preview.filter", { n: ids.length, verb })}
            </p>
            <p class="ids">
              ${t("jobs.bulk.ids", { ids: "" })}${ids.slice(0, 50).map((id, i) => html`${i > 0 ? ", " : ""}<a href="${ctx.href(`/jobs/${id}`)}">${id}</a>`)}${ids.length > 50 ? ` ${t("jobs.bulk.more", { n: ids.length - 50 })}` : ""}
            </p>`;
  const filterText = FILTER_FIELDS.filter((f) => form.get(f))
    .map((f) => `${f}=${form.get(f)}`)
    .join(" ");
  return {
    kind: "page",
    title: t(`jobs.bulk.title.${action}`),
    nav: "jobs",
    body: html`<section class="confirm">
      ${preview}
      ${scope === "filter" && html`<p>${t("jobs.bulk.filterWas")}: <code>${filterText || t("state.all")}</code></p>`}
      ${
        ids !== null &&
        ids.length > 0 &&
        html`<form method="post" action="${ctx.href("/jobs/bulk")}" class="confirm-form">
          ${csrfInput(ctx)}${hidden}
          <input type="hidden" name="do" value="${`${action}:${scope}`}" /><input
            type="hidden"
            name="back"
            value="${back}"
          /><input type="hidden" name="confirmed" value="1" />
          <label
            >${t("common.reason")}<input
              name="reason"
              maxlength="2000"
              ${action === "cancel" ? html`required` : ""}
              placeholder="${t("common.reason.hint")}"
          /></label>
          <button type="submit" class="${action === "cancel" ? "danger" : "primary"}">
            ${t(`jobs.bulk.confirm.${action}`, { n: ids.length })}
          </button>
        </form>`
      }
      <p><a href="${ctx.href(back)}">${t("common.back")}</a></p>
    </section>`,
  };
}
