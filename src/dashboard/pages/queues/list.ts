import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { actionButton, table } from "../../view/components";
import { formatAge, formatCount, formatDate, formatDuration } from "../../view/format";
import { queueLines, type QueueLine } from "./data";

/**
 * The queues (`/queues`): per queue its depth (due now, and scheduled
 * later), latency (how long its oldest due work has waited), what runs now
 * against each concurrency key's limit, and whether it is paused — by
 * whom, when, why — with pause and resume for users who may.
 */
export async function queuesPage(ctx: PageContext): Promise<PageResult> {
  const { t } = ctx;
  const lines = await queueLines(ctx);
  const rows = lines.map(
    (q) =>
      html`<tr>
        <td><a href="${ctx.href(`/queues/${encodeURIComponent(q.queue)}`)}">${q.queue}</a></td>
        <td>${pauseBadge(ctx, q)}</td>
        <td class="num">${formatCount(q.waiting)}</td>
        <td class="num">${formatCount(q.scheduled)}</td>
        <td class="num">${latency(ctx, q)}</td>
        <td class="num">${formatCount(q.running)}</td>
        <td>${keyLimits(ctx, q)}</td>
        <td>${pausedBy(ctx, q)}</td>
        <td>${queueButtons(ctx, q)}</td>
      </tr>`,
  );
  return {
    kind: "page",
    title: t("queues.title"),
    nav: "queues",
    body: html`<div id="queues-table" data-live>
        ${table(
          ctx,
          [
            t("common.queue"),
            t("common.state"),
            t("queues.col.waiting"),
            t("queues.col.scheduled"),
            t("queues.col.latency"),
            t("queues.col.running"),
            t("queues.col.keys"),
            t("queues.col.pausedBy"),
            t("common.action"),
          ],
          rows,
          { className: "grid queues" },
        )}
      </div>
      <p class="help">${t("queues.help")}</p>`,
  };
}

/** Paused or running, as a badge. */
export function pauseBadge(ctx: PageContext, q: QueueLine): SafeHtml {
  return q.pause?.paused
    ? html`<span class="badge state-paused">${ctx.t("queues.paused")}</span>`
    : html`<span class="badge state-active">${ctx.t("queues.active")}</span>`;
}

/** How long the oldest due work has waited. */
export function latency(ctx: PageContext, q: QueueLine): string {
  return q.oldestDue === null ? "—" : formatDuration(Math.max(0, ctx.now.getTime() - q.oldestDue.getTime()));
}

/** Each concurrency key's runs now against its limit: `patient:7 1/2`. */
export function keyLimits(ctx: PageContext, q: QueueLine): SafeHtml | string {
  if (q.keys.length === 0) return "—";
  return html`<ul class="keys">
    ${q.keys.map(
      (k) =>
        html`<li>
          <code>${k.key}</code>
          ${ctx.t("queues.key", { running: k.running, limit: k.limit ?? "—", waiting: k.waiting })}
        </li>`,
    )}
  </ul>`;
}

/** Who paused (or last resumed) the queue, when and why. */
export function pausedBy(ctx: PageContext, q: QueueLine): SafeHtml | string {
  if (!q.pause) return "—";
  const p = q.pause;
  return html`<span title="${formatDate(p.changedAt, ctx.options.timeZone)}"
      >${ctx.t(p.paused ? "queues.pausedBy" : "queues.resumedBy", { by: p.changedBy, age: formatAge(p.changedAt, ctx.now, ctx.t) })}</span
    >${p.reason && html`<br /><span class="reason">${p.reason}</span>`}`;
}

/** Pause (with a reason) or resume, whichever the queue's state allows, for users who may. */
export function queueButtons(ctx: PageContext, q: QueueLine): SafeHtml | null {
  const path = `/queues/${encodeURIComponent(q.queue)}`;
  return q.pause?.paused
    ? actionButton(ctx, "resumeQueue", `${path}/resume`, ctx.t("queues.do.resume"))
    : actionButton(ctx, "pauseQueue", `${path}/pause`, ctx.t("queues.do.pause"), {
        reason: true,
        danger: true,
        confirm: ctx.t("queues.confirm.pause", { queue: q.queue }),
      });
}
