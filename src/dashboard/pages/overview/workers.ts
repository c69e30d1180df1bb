import { backendFor } from "../../../backend";
import { DEFAULTS } from "../../../core/options";
import { heldRuns, listWorkers, type HeldRun, type WorkerInfo } from "../../../store/workers";
import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { table } from "../../view/components";
import { formatAge, formatDate } from "../../view/format";
import { isAlive } from "./data";

/**
 * The workers page (Frappe's RQ Worker, GoodJob's Processes): every
 * registered worker with its host and pid, the methods it serves, when it
 * started, its last heartbeat and whether it looks alive, and the runs it
 * holds now; then runs held by workers that are no longer registered.
 */
export async function workersPage(ctx: PageContext): Promise<PageResult> {
  const { t } = ctx;
  const backend = backendFor(ctx.dataSource);
  const workers = await listWorkers(backend, ctx.dataSource.manager);
  const held = await heldRuns(backend, ctx.dataSource.manager);
  const known = new Set(workers.map((w) => w.id));
  const orphans = held.filter((r) => !known.has(r.workerId));
  const alive = workers.filter((w) => isAlive(w, ctx.now)).length;
  return {
    kind: "page",
    title: t("workers.title"),
    nav: "workers",
    body: html`<div id="workers-list" data-live>
        <p class="workers-summary">
          ${t("workers.summary", { n: workers.length, alive, dead: workers.length - alive })}
        </p>
        ${table(
          ctx,
          [
            t("workers.col.id"),
            t("workers.col.host"),
            t("workers.col.pid"),
            t("workers.col.methods"),
            t("common.started"),
            t("workers.col.heartbeat"),
            t("common.state"),
            t("workers.col.holds"),
          ],
          workers.map((w) => workerRow(ctx, w, held)),
          { id: "workers-table" },
        )}
        ${
          orphans.length > 0 &&
          html`<h2>${t("workers.orphans")}</h2>
            <p class="help">${t("workers.orphans.help")}</p>
            ${table(
              ctx,
              [t("common.worker"), t("workers.col.holds"), t("common.started")],
              orphans.map(
                (r) =>
                  html`<tr>
                    <td class="mono">${r.workerId}</td>
                    <td>${runLink(ctx, r)}</td>
                    <td class="date">${formatAge(r.since, ctx.now, t)}</td>
                  </tr>`,
              ),
              { id: "workers-orphans" },
            )}`
        }
      </div>
      <p class="help">${t("workers.help", { s: Math.round(DEFAULTS.workerTimeoutMs / 1000) })}</p>`,
  };
}

function workerRow(ctx: PageContext, w: WorkerInfo, held: readonly HeldRun[]): SafeHtml {
  const { t } = ctx;
  const mine = held.filter((r) => r.workerId === w.id);
  return html`<tr data-worker="${w.id}" data-alive="${isAlive(w, ctx.now) ? "yes" : "no"}">
    <td class="mono">${w.id}</td>
    <td>${w.hostname ?? "—"}</td>
    <td class="num">${w.pid ?? "—"}</td>
    <td>${methodList(ctx, w.methods)}</td>
    <td class="date">${formatDate(w.startedAt, ctx.options.timeZone)}</td>
    <td class="date" title="${formatDate(w.lastSeenAt, ctx.options.timeZone)}">
      ${formatAge(w.lastSeenAt, ctx.now, t)}
    </td>
    <td>${workerStatus(ctx, w)}</td>
    <td>
      ${
        mine.length === 0
          ? html`<span class="muted">${t("common.none")}</span>`
          : html`<ul class="held-runs">
              ${mine.map(
                (r) => html`<li>${runLink(ctx, r)} <span class="muted">${formatAge(r.since, ctx.now, t)}</span></li>`,
              )}
            </ul>`
      }
    </td>
  </tr>`;
}

/** A worker's state as a badge: alive, or dead (silent past the timeout). */
export function workerStatus(ctx: PageContext, w: Pick<WorkerInfo, "lastSeenAt">): SafeHtml {
  return isAlive(w, ctx.now)
    ? html`<span class="badge state-active worker-alive">${ctx.t("workers.alive")}</span>`
    : html`<span class="badge state-failed worker-dead">${ctx.t("workers.dead")}</span>`;
}

function methodList(ctx: PageContext, methods: readonly string[] | null): SafeHtml {
  if (methods === null) return html`<span class="muted">${ctx.t("workers.methods.unknown")}</span>`;
  if (methods.length === 0) return html`<span class="muted">${ctx.t("common.none")}</span>`;
  const sorted = [...methods].sort();
  if (sorted.length <= 3) return html`<span class="method">${sorted.join(", ")}</span>`;
  return html`<details class="methods">
    <summary>${ctx.t("workers.methods.count", { n: sorted.length })}</summary>
    <ul>
      ${sorted.map((m) => html`<li class="method">${m}</li>`)}
    </ul>
  </details>`;
}

function runLink(ctx: PageContext, r: HeldRun): SafeHtml {
  const path = r.source === "job" ? `/jobs/${r.id}` : `/crons/${r.id}`;
  const label = ctx.t(r.source === "job" ? "workers.run.job" : "workers.run.cron", { id: r.id });
  return html`<a href="${ctx.href(path)}">${label}</a> <span class="muted">${r.name} (${r.queue})</span>`;
}
