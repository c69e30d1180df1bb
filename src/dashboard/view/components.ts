import type { PageContext } from "../context";
import { ForbiddenActionError } from "../errors";
import { html, type HtmlValue, type SafeHtml } from "../html";
import { CSRF_FIELD } from "../security/csrf";
import type { DashboardAction } from "../security/access";

/** Pieces pages share: state badges, action forms, pagers, tables. */

/** A state as a coloured badge with its translated name. */
export function stateBadge(ctx: PageContext, state: string): SafeHtml {
  return html`<span class="badge state-${state}">${ctx.t(`state.${state}`)}</span>`;
}

/** The hidden field every POST form needs. */
export function csrfInput(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrfToken}" />`;
}

/** The current page's path and query, for a form's `back` field. */
export function currentLocation(ctx: PageContext): string {
  const q = ctx.query.toString();
  return q === "" ? ctx.path : `${ctx.path}?${q}`;
}

/**
 * A one-button POST form for `action` on `path`, shown only when the user
 * may take it. Destructive actions (`reason: true`) ask for a reason,
 * which the action log records; `confirm` asks again in the browser.
 */
export function actionButton(
  ctx: PageContext,
  action: DashboardAction,
  path: string,
  label: string,
  options: {
    readonly reason?: boolean;
    readonly confirm?: string;
    readonly danger?: boolean;
    readonly back?: string;
  } = {},
): SafeHtml | null {
  if (!ctx.access.can(action)) return null;
  return html`<form
    method="post"
    action="${ctx.href(path)}"
    class="inline-action"
    ${options.confirm ? html` data-confirm="${options.confirm}"` : ""}
  >
    ${csrfInput(ctx)}<input type="hidden" name="back" value="${options.back ?? currentLocation(ctx)}" />
    ${options.reason && html`<input name="reason" required maxlength="2000" placeholder="${ctx.t("common.reason.hint")}" aria-label="${ctx.t("common.reason")}" />`}
    <button type="submit" class="${options.danger ? "danger" : "primary"}" data-action="${action}">${label}</button>
  </form>`;
}

/** Throws unless the user may take `action`. @throws ForbiddenActionError */
export function requireAction(ctx: PageContext, action: DashboardAction): void {
  if (!ctx.access.can(action)) throw new ForbiddenActionError(ctx.user.login, action);
}

/** A table with a header row; `rows` empty shows the empty-state text instead. */
export function table(
  ctx: PageContext,
  headers: readonly HtmlValue[],
  rows: readonly SafeHtml[],
  options: { readonly id?: string; readonly className?: string } = {},
): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${ctx.t("common.empty")}</p>`;
  return html`<div class="table-wrap"><table${options.id ? html` id="${options.id}"` : ""} class="${options.className ?? "grid"}">
<thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

/** Keyset pager: "newest" back to the first page, "older" from the last id shown. */
export function pager(ctx: PageContext, nextBeforeId: number | null): SafeHtml {
  const q = new URLSearchParams(ctx.query);
  q.delete("before");
  const first = ctx.query.has("before") ? html`<a href="${ctx.href(ctx.path, q)}">${ctx.t("common.first")}</a>` : null;
  let next: SafeHtml | null = null;
  if (nextBeforeId !== null) {
    const nq = new URLSearchParams(q);
    nq.set("before", String(nextBeforeId));
    next = html`<a rel="next" href="${ctx.href(ctx.path, nq)}">${ctx.t("common.next")}</a>`;
  }
  return html`<nav class="pager">${first}${next}</nav>`;
}

/** A definition list of label/value pairs (detail pages). */
export function facts(pairs: ReadonlyArray<readonly [HtmlValue, HtmlValue]>): SafeHtml {
  return html`<dl class="facts">
    ${pairs.map(
      ([k, v]) =>
        html`<dt>${k}</dt>
          <dd>${v}</dd>`,
    )}
  </dl>`;
}
