import type { PageContext } from "../../context";
import { html, type SafeHtml } from "../../html";
import { ValidationError } from "../../../core/errors";
import { pager, table } from "../../view/components";
import { formatDate } from "../../view/format";

/** Parts of both detail pages: the action history of one target, an error's full text, the run log's keyset. */

/** Rows of the action history a detail page shows. */
const HISTORY_ROWS = 20;

/** The action log's rows on `targetType` `targetId`, newest first (who, what, why, from where, what came of it). */
export async function actionHistory(ctx: PageContext, targetType: string, targetId: number): Promise<SafeHtml> {
  const { t } = ctx;
  const actions = await ctx.admin.listActions({ targetType, targetId, limit: HISTORY_ROWS });
  const rows = actions.map(
    (a) =>
      html`<tr>
        <td class="date">${formatDate(a.createdAt, ctx.options.timeZone)}</td>
        <td>${a.actor}</td>
        <td><code>${a.action}</code></td>
        <td>${a.reason ?? "—"}</td>
        <td>${a.source}${a.ip ? ` · ${a.ip}` : ""}</td>
        <td>${a.outcome}</td>
      </tr>`,
  );
  return html`<section aria-labelledby="history">
    <h2 id="history">${t("crons.history")}</h2>
    ${table(
      ctx,
      [
        t("common.when"),
        t("common.by"),
        t("common.action"),
        t("common.reason"),
        t("common.source"),
        t("common.outcome"),
      ],
      rows,
      { id: "action-history" },
    )}
  </section>`;
}

/** An error: its first line, the whole text (message and stack) folded under it. */
export function errorText(text: string | null): SafeHtml {
  if (!text) return html``;
  const first = text.split("\n", 1)[0];
  return html`<details class="error-details">
    <summary class="error-text">${first.length > 160 ? `${first.slice(0, 159)}…` : first}</summary>
    <pre class="stack">${text}</pre>
  </details>`;
}

/** One page of a run log read by keyset (`before`): the rows to show and the pager under them. */
export async function logPage<T extends { readonly id: number }>(
  ctx: PageContext,
  read: (beforeId: number | undefined, limit: number) => Promise<T[]>,
): Promise<{ rows: T[]; pager: SafeHtml }> {
  const size = ctx.options.pageSize;
  const before = ctx.query.get("before");
  if (before !== null && before !== "" && !/^\d{1,10}$/.test(before))
    throw new ValidationError("before", "must be a run id (the pager's link)", before);
  const all = await read(before ? Number(before) : undefined, size + 1);
  const rows = all.slice(0, size);
  return { rows, pager: pager(ctx, all.length > size ? rows[rows.length - 1].id : null) };
}
