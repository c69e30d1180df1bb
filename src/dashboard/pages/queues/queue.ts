import type { PageContext, PageResult } from "../../context";
import { html } from "../../html";
import { actionTable } from "../../view/actionTable";
import { facts } from "../../view/components";
import { formatCount, formatDate } from "../../view/format";
import { queueLines, queueNameOf } from "./data";
import { keyLimits, latency, pauseBadge, pausedBy, queueButtons } from "./list";

/** Most action-log rows one queue page shows. */
const MAX_ACTIONS = 200;

/**
 * One queue (`/queues/:name`): its numbers as in the list, pause or
 * resume, and its own action history (who paused and resumed it, why).
 * A queue without work or history shows zeros: it can be paused before
 * its first job arrives.
 * @throws ValidationError for a name no queue can have
 */
export async function queuePage(ctx: PageContext, params: Readonly<Record<string, string>>): Promise<PageResult> {
  const { t } = ctx;
  const name = queueNameOf(params.name);
  const [lines, actions] = await Promise.all([
    queueLines(ctx),
    ctx.admin.listActions({ queue: name, limit: MAX_ACTIONS }),
  ]);
  const q = lines.find((l) => l.queue === name) ?? {
    queue: name,
    running: 0,
    waiting: 0,
    scheduled: 0,
    oldestDue: null,
    keys: [],
    pause: null,
  };
  return {
    kind: "page",
    title: t("queues.one.title", { queue: name }),
    nav: "queues",
    body: html`<div id="queue-live" data-live>
        ${facts([
          [t("common.state"), pauseBadge(ctx, q)],
          [t("queues.col.waiting"), formatCount(q.waiting)],
          [t("queues.col.scheduled"), formatCount(q.scheduled)],
          [
            t("queues.col.latency"),
            html`${latency(ctx, q)}${q.oldestDue && html` <span class="muted">(${t("queues.oldestDue", { at: formatDate(q.oldestDue, ctx.options.timeZone) })})</span>`}`,
          ],
          [t("queues.col.running"), formatCount(q.running)],
          [t("queues.col.keys"), keyLimits(ctx, q)],
          [t("queues.col.pausedBy"), pausedBy(ctx, q)],
        ])}
      </div>
      <div class="job-actions">${queueButtons(ctx, q)}</div>
      <p>
        <a href="${ctx.href("/jobs", { queue: name, state: "pending" })}">${t("queues.pendingJobs")}</a> ·
        <a href="${ctx.href("/jobs", { queue: name, state: "failed" })}">${t("queues.failedJobs")}</a>
      </p>
      <h2>${t("queues.history")}</h2>
      ${actionTable(ctx, actions)}
      <p><a href="${ctx.href("/queues")}">${t("queues.back")}</a></p>`,
  };
}
