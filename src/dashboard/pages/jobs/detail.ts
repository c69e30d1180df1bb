import { NotFoundError } from "../../../core/errors";
import type { HrpCronJob } from "../../../schema/entities/HrpCronJob";
import type { HrpCronRun } from "../../../schema/entities/HrpCronRun";
import type { PageContext, PageResult } from "../../context";
import { html, type SafeHtml } from "../../html";
import { redactSecrets } from "../../redact";
import { actionTable } from "../../view/actionTable";
import { facts, stateBadge, table } from "../../view/components";
import { formatAge, formatDate, formatDuration } from "../../view/format";
import { jobActionButtons, jobIdOf } from "./jobActions";

/** Most runs one job detail shows (newest first); a job retried more often says so. */
const MAX_RUNS = 500;
/** Most action-log rows one job detail shows. */
const MAX_ACTIONS = 200;

/**
 * The job detail (`/jobs/:id`), what `hrp-cron job ID` shows: the call
 * (method, queue, user), its arguments and result as JSON after
 * `redactArgs` (by default {@link redactSecrets}), progress, timings,
 * tries, worker, the last error with its whole stack, every run with its
 * own error, the operator actions on it (alone or in a bulk action), and
 * the actions its state allows.
 * @throws ValidationError for an id that is not one; NotFoundError for a job that does not exist (404)
 */
export async function jobDetailPage(ctx: PageContext, params: Readonly<Record<string, string>>): Promise<PageResult> {
  const { t } = ctx;
  const job = await ctx.admin.getJob(jobIdOf(params.id));
  const [logins, runs, actions, cronId] = await Promise.all([
    ctx.admin.userLogins([job.userId]),
    ctx.admin.listRuns({ jobId: job.id, limit: MAX_RUNS }),
    ctx.admin.listActions({ jobId: job.id, limit: MAX_ACTIONS }),
    job.kind === "cron" ? cronIdOf(ctx, job.id) : Promise.resolve(null),
  ]);
  const login = logins.get(job.userId) ?? `#${job.userId}`;
  const redact = ctx.options.redactArgs ?? ((value: unknown) => redactSecrets(value));
  const shown = (text: string | null) => json(ctx, text, (v) => redact(v, job));
  return {
    kind: "page",
    title: t("job.title", { id: job.id }),
    nav: "jobs",
    body: html`<p class="job-head">${stateBadge(ctx, job.state)} <span class="method">${job.name}</span></p>
      <div class="job-actions">${jobActionButtons(ctx, job)}</div>
      <div id="job-live" data-live>
        ${facts(summary(ctx, job, login, cronId))} ${progress(ctx, job)}
        ${
          job.excInfo &&
          html`<h2>${t("job.lastError")}</h2>
            <pre class="stack" id="job-error">${job.excInfo}</pre>`
        }
      </div>
      <h2>${t("job.args")}</h2>
      ${shown(job.args)}
      ${
        job.state === "done" &&
        html`<h2>${t("job.result")}</h2>
          ${job.result === null ? html`<p class="muted">${t("job.result.none")}</p>` : shown(job.result)}`
      }
      <h2>${t("job.runs", { n: runs.length })}</h2>
      ${runs.length >= MAX_RUNS && html`<p class="muted">${t("job.runs.cut", { n: MAX_RUNS })}</p>`}
      ${runsTable(ctx, job, runs, login)}
      <h2>${t("job.actions")}</h2>
      ${actionTable(ctx, actions)}
      <p><a href="${ctx.href("/jobs")}">${t("job.backToList")}</a></p>`,
  };
}

async function cronIdOf(ctx: PageContext, jobId: number): Promise<number | null> {
  try {
    return (await ctx.admin.getJobCron(jobId)).id;
  } catch (error) {
    if (error instanceof NotFoundError) return null; // purged, or a row written before its ir_cron record
    throw error;
  }
}

function summary(ctx: PageContext, job: HrpCronJob, login: string, cronId: number | null) {
  const { t } = ctx;
  const date = (d: Date | null) => formatDate(d, ctx.options.timeZone);
  const due = job.nextcall ?? job.dateCreated;
  const ran = job.dateStarted && (job.dateDone ?? (job.state === "running" ? ctx.now : null));
  const pairs: Array<readonly [string, SafeHtml | string]> = [
    [t("common.method"), html`<span class="method">${job.model}.${job.function}</span>`],
    [
      t("job.kind"),
      job.kind === "cron"
        ? html`${t("job.kind.cron")}${cronId !== null && html` · <a href="${ctx.href(`/crons/${cronId}`)}">ir_cron ${cronId}</a>`}`
        : t("job.kind.queue"),
    ],
    [
      t("common.queue"),
      html`<a href="${ctx.href(`/queues/${encodeURIComponent(job.queue)}`)}">${job.queue}</a> ·
        ${t("job.priority", { n: job.priority })}${job.concurrencyKey && ` · ${t("job.key", { key: job.concurrencyKey, n: job.concurrencyLimit ?? 1 })}`}`,
    ],
    [t("common.user"), t("job.user", { login, id: job.userId })],
  ];
  if (job.jobKey) pairs.push([t("job.jobKey"), job.jobKey]);
  pairs.push([t("job.planned"), date(job.dateCreated)]);
  if (job.state === "pending") pairs.push([t("job.due"), `${date(due)} (${formatAge(due, ctx.now, t)})`]);
  pairs.push(
    [t("common.started"), date(job.dateStarted)],
    [t("common.ended"), date(job.dateDone)],
    [t("common.duration"), ran && job.dateStarted ? formatDuration(ran.getTime() - job.dateStarted.getTime()) : "—"],
    [
      t("job.tries"),
      `${t("job.tries.value", { n: job.attempts, m: job.maxRetries + 1 })}${job.crashCount > 0 ? ` · ${t("job.crashes", { n: job.crashCount })}` : ""}`,
    ],
    [t("job.timeout"), job.timeoutMs === null ? t("job.timeout.queue") : formatDuration(job.timeoutMs)],
    [
      t("common.worker"),
      job.runningWorker
        ? t("job.worker.now", { worker: job.runningWorker, since: formatAge(job.runningSince, ctx.now, t) })
        : (job.workerId ?? "—"),
    ],
  );
  if (job.stopRequested && job.runningWorker) pairs.push([t("job.stopRequested"), t("common.yes")]);
  return pairs;
}

function progress(ctx: PageContext, job: HrpCronJob): SafeHtml | null {
  const { t } = ctx;
  if (job.progressDone === null) return null;
  const total = job.progressTotal;
  const pct = total && total > 0 ? Math.min(100, Math.round((100 * job.progressDone) / total)) : null;
  const live = job.state === "running" || job.state === "done";
  return html`<section class="job-progress" aria-label="${t("job.progress")}">
    <h2>${t("job.progress")}</h2>
    ${total && total > 0 ? html`<progress value="${Math.min(job.progressDone, total)}" max="${total}">${pct}%</progress>` : html`<progress></progress>`}
    <span class="num"
      >${total === null ? String(job.progressDone) : `${job.progressDone} / ${total}`}${pct !== null ? ` (${pct}%)` : ""}</span
    >
    ${job.progressMessage && html`<span class="progress-message">${job.progressMessage}</span>`}
    <span class="muted">${t("job.progress.at", { at: formatDate(job.progressAt, ctx.options.timeZone) })}</span>
    ${!live && html`<p class="muted">${t("job.progress.rolledBack")}</p>`}
  </section>`;
}

/** Stored JSON text, parsed, passed through `redact`, shown pretty; text that is not JSON is not shown (it cannot be redacted). */
function json(ctx: PageContext, text: string | null, redact: (value: unknown) => unknown): SafeHtml {
  if (text === null) return html`<p class="muted">${ctx.t("common.none")}</p>`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return html`<p class="warning">${ctx.t("job.json.unreadable")}</p>`;
  }
  const shown = JSON.stringify(redact(value), null, 2);
  return html`<pre class="json">${shown === undefined ? "—" : shown}</pre>`;
}

function runsTable(ctx: PageContext, job: HrpCronJob, runs: readonly HrpCronRun[], login: string): SafeHtml {
  const { t } = ctx;
  const date = (d: Date | null) => formatDate(d, ctx.options.timeZone);
  const rows = runs.map(
    (r, i) =>
      html`<tr>
          <td class="num">${runs.length - i}</td>
          <td>${stateBadge(ctx, r.state)}</td>
          <td class="date">${date(r.dateStart)}</td>
          <td class="date">${date(r.dateEnd)}</td>
          <td class="num">${formatDuration(r.durationMs)}</td>
          <td>${r.workerId ?? "—"}</td>
          <td>${r.userId === job.userId ? login : `#${r.userId}`}</td>
        </tr>
        ${
          r.error &&
          html`<tr class="run-error">
            <td></td>
            <td colspan="6"><pre class="stack">${r.error}</pre></td>
          </tr>`
        }`,
  );
  return table(
    ctx,
    [
      t("job.run.n"),
      t("common.outcome"),
      t("common.started"),
      t("common.ended"),
      t("common.duration"),
      t("common.worker"),
      t("common.user"),
    ],
    rows,
    { id: "job-runs" },
  );
}
