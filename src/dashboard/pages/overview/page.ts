import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { HRP_CRON_JOB_STATES } from "../../../schema/entities/HrpCronJob";
import { facts, stateBadge, table } from "../../view/components";
import { formatAge, formatCount, formatDate, formatPercent } from "../../view/format";
import { throughputChart } from "./chart";
import { isAlive, overviewData, RANGES, type OverviewData } from "./data";
import { schedulerPanel, failingPanel } from "./panels";
import { workerStatus } from "./workers";

/**
 * The overview (System Health Report): jobs by state and queue, runs and
 * failures over time, the job waiting longest, workers and their
 * heartbeats, the scheduler, and what fails most. Every block is a live
 * region (`data-live` with an id) the refresh script re-reads.
 */
export async function overviewPage(ctx: PageContext): Promise<PageResult> {
  const data = await overviewData(ctx);
  return {
    kind: "page",
    title: ctx.t("overview.title"),
    nav: "overview",
    body: html`<section id="overview-states" data-live aria-label="${ctx.t("overview.states")}">
        ${stateCards(ctx, data)}
      </section>
      <div class="grid-2">
        <section class="panel" id="overview-throughput" data-live>${throughput(ctx, data)}</section>
        <section class="panel" id="overview-health" data-live>${health(ctx, data)}</section>
      </div>
      <section id="overview-queues" data-live>${queueTable(ctx, data)}</section>
      <div class="grid-2">
        <section id="overview-scheduler" data-live>${schedulerPanel(ctx, data)}</section>
        <section id="overview-failing" data-live>${failingPanel(ctx, data)}</section>
      </div>`,
  };
}

function stateCards(ctx: PageContext, data: OverviewData): SafeHtml {
  const byState = new Map<string, number>();
  for (const c of data.counts) byState.set(c.state, (byState.get(c.state) ?? 0) + c.count);
  return html`<div class="cards">
    ${HRP_CRON_JOB_STATES.map(
      (s) =>
        html`<a class="card card-${s}" href="${ctx.href("/jobs", { state: s })}" data-state="${s}">
          <div class="value">${formatCount(byState.get(s) ?? 0)}</div>
          <div class="label">${ctx.t(`state.${s}`)}</div>
        </a>`,
    )}
  </div>`;
}

function throughput(ctx: PageContext, data: OverviewData): SafeHtml {
  const { t } = ctx;
  const { range } = data;
  const total = data.buckets.reduce((n, b) => n + b.done + b.failed + b.stopped, 0);
  const failed = data.buckets.reduce((n, b) => n + b.failed, 0);
  const tick = (d: Date) => formatDate(d, ctx.options.timeZone).slice(11, 16);
  return html`<h2>${t("overview.throughput")}</h2>
    <nav class="tabs range-tabs" aria-label="${t("overview.range")}">
      ${RANGES.map(
        (r) =>
          html`<a
            class="tab"
            href="${ctx.href("/", { range: r.key })}"
            ${r.key === range.key ? html` aria-current="page"` : ""}
            >${t(`overview.range.${r.key}`)}</a
          >`,
      )}
    </nav>
    <p class="chart-summary">
      ${t("overview.chart.summary", {
        runs: formatCount(total),
        n: total,
        failed: formatCount(failed),
        rate: formatPercent(failed, total),
        since: formatDate(data.since, ctx.options.timeZone),
      })}
    </p>
    ${throughputChart(t, "throughput-chart", data.buckets, {
      title: t(`overview.chart.title.${range.key}`),
      tick,
      tickEvery: range.tickEvery,
      periodMs: range.periodMs,
    })}`;
}

function health(ctx: PageContext, data: OverviewData): SafeHtml {
  const { t } = ctx;
  const alive = data.workers.filter((w) => isAlive(w, ctx.now));
  const dead = data.workers.length - alive.length;
  const orphaned = data.facts.running.filter((r) => !isAlive(r, ctx.now));
  const oldest = data.oldest;
  return html`<h2>${t("overview.health")}</h2>
    ${facts([
      [
        t("overview.oldestDue"),
        oldest
          ? html`<a href="${ctx.href(`/jobs/${oldest.id}`)}" class="oldest-due">#${oldest.id} ${oldest.method}</a>
              <span class="muted">(${oldest.queue})</span> ·
              ${t("overview.dueFor", { age: formatAge(oldest.dueAt, ctx.now, t) })}`
          : html`<span class="muted">${t("overview.nothingWaits")}</span>`,
      ],
      [
        t("overview.workers"),
        html`<a href="${ctx.href("/workers")}" class="workers-alive"
            >${t("overview.workersAlive", { n: alive.length })}</a
          >
          ${dead > 0 && html` · <span class="badge state-failed workers-dead">${t("overview.workersDead", { n: dead })}</span>`}`,
      ],
      [
        t("overview.running"),
        html`${formatCount(data.facts.running.length)}
        ${orphaned.length > 0 && html` · <span class="badge state-failed">${t("overview.orphaned", { n: orphaned.length })}</span>`}`,
      ],
      [
        t("overview.unserved"),
        data.facts.unserved.length === 0
          ? html`<span class="muted">${t("common.none")}</span>`
          : html`<span class="error-text"
              >${data.facts.unserved.map((u) => `${u.method} (${u.count})`).join(", ")}</span
            >`,
      ],
    ])}
    ${
      data.workers.length > 0 &&
      table(
        ctx,
        [t("common.worker"), t("overview.col.host"), t("overview.col.heartbeat"), t("common.state")],
        data.workers.map(
          (w) =>
            html`<tr>
              <td class="mono">${w.id}</td>
              <td>${w.hostname ?? "—"}${w.pid !== null ? ` · ${w.pid}` : ""}</td>
              <td class="date">${formatAge(w.lastSeenAt, ctx.now, t)}</td>
              <td>${workerStatus(ctx, w)}</td>
            </tr>`,
        ),
        { id: "overview-workers-table" },
      )
    }`;
}

function queueTable(ctx: PageContext, data: OverviewData): SafeHtml {
  const { t } = ctx;
  const queues = [...new Set(data.counts.map((c) => c.queue))].sort();
  const cell = new Map(data.counts.map((c) => [`${c.queue}\u0000${c.state}`, c.count]));
  const link = (queue: string, state: string, n: number) =>
    n === 0
      ? html`<span class="muted">0</span>`
      : html`<a href="${ctx.href("/jobs", { queue, state })}">${formatCount(n)}</a>`;
  return html`<h2>${t("overview.queues")}</h2>
    ${table(
      ctx,
      [t("common.queue"), ...HRP_CRON_JOB_STATES.map((s) => stateBadge(ctx, s)), t("overview.col.total")],
      queues.map((q) => {
        const counts = HRP_CRON_JOB_STATES.map((s) => cell.get(`${q}\u0000${s}`) ?? 0);
        return html`<tr data-queue="${q}">
          <th scope="row"><a href="${ctx.href("/jobs", { queue: q })}">${q}</a></th>
          ${HRP_CRON_JOB_STATES.map((s, i) => html`<td class="num" data-state="${s}">${link(q, s, counts[i])}</td>`)}
          <td class="num total">${formatCount(counts.reduce((a, b) => a + b, 0))}</td>
        </tr>`;
      }),
      { id: "overview-queue-table" },
    )}`;
}
