import type { HrpCronJob } from "../../schema/entities/HrpCronJob";
import type { HrpCronRun } from "../../schema/entities/HrpCronRun";
import type { OperatorAction } from "../../api/serviceInput";
import { formatDate } from "../table";
import { progressText } from "./shared";

/** Everything `hrp-cron job ID` shows about one job (also its `--json`). */
export interface JobDetail {
  readonly job: HrpCronJob;
  /** The login its user id resolves to now (`#ID?` when no such user). */
  readonly login: string;
  /** The seed's one-shot `ir_cron` record of a `runByCron` job, by id; null for a queue job. */
  readonly cronId: number | null;
  /** Its method's return value (parsed JSON) when it is done, else null. */
  readonly result: unknown;
  /** Every run of it, newest first, each with its full error and stack. */
  readonly runs: readonly HrpCronRun[];
  /** Operator actions on it (retry, cancel, stop, run now), newest first. */
  readonly actions: readonly OperatorAction[];
}

/** The text of `hrp-cron job ID`: fields, arguments and result in full, then each run with its whole error. */
export function renderJobDetail(d: JobDetail): string {
  const { job } = d;
  const date = (value: Date | null) => (value ? `${formatDate(value)} UTC` : "-");
  const fields: Array<[string, string]> = [
    ["method", `${job.model}.${job.function}`],
    ["kind", job.kind === "cron" ? `runByCron (ir_cron ${d.cronId ?? "-"})` : "queue job"],
    ["queue", `${job.queue}, priority ${job.priority}${job.concurrencyKey ? `, key ${job.concurrencyKey}` : ""}`],
    ["user", `${d.login} (id ${job.userId})`],
    ["arguments", job.args], // positional JSON; an enqueue's kwargs are its one object
    ...(job.jobKey ? [["job id", job.jobKey] as [string, string]] : []),
    ["due", date(job.dateCreated)],
    ["started", date(job.dateStarted)],
    ["finished", date(job.dateDone)],
    [
      "tries",
      `${job.attempts} started of ${job.maxRetries + 1} allowed${job.crashCount ? `, ${job.crashCount} crashed` : ""}`,
    ],
    ["timeout", job.timeoutMs === null ? "none" : `${job.timeoutMs} ms`],
    ["worker", job.runningWorker ? `${job.runningWorker} (running now)` : (job.workerId ?? "-")],
    ...(job.progressDone !== null
      ? [
          [
            "progress",
            `${progressText(job.progressDone, job.progressTotal)}${job.progressMessage ? ` ${JSON.stringify(job.progressMessage)}` : ""}, at ${date(job.progressAt)}` +
              (job.state === "running" || job.state === "done" ? "" : " (of a run that rolled back)"),
          ] as [string, string],
        ]
      : []),
    ...(job.state === "done" ? [["result", JSON.stringify(d.result)] as [string, string]] : []),
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  const lines = [`Job ${job.id}  ${job.name}  [${job.state}]`, ...fields.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
  if (job.excInfo) lines.push("", "Last error:", indent(job.excInfo));
  lines.push("", d.runs.length === 0 ? "Runs: none yet" : `Runs (${d.runs.length}, newest first):`);
  for (const run of d.runs) {
    lines.push(
      `  ${run.state.padEnd(11)} started ${date(run.dateStart)}, ${run.durationMs ?? "?"} ms, as ${run.userId === job.userId ? d.login : `user ${run.userId}`}, worker ${run.workerId ?? "-"}` +
        (run.runLogId ? ` (run log ${run.runLogId})` : ""),
    );
    if (run.error) lines.push(indent(run.error, 6));
  }
  lines.push(
    "",
    d.actions.length === 0 ? "Operator actions: none" : `Operator actions (${d.actions.length}, newest first):`,
  );
  for (const a of d.actions)
    lines.push(
      `  ${date(a.createdAt)}  ${a.action} by ${a.actor} (${a.source})${a.reason ? `: ${a.reason}` : ""} -> ${a.outcome}`,
    );
  return lines.join("\n");
}

function indent(text: string, spaces = 2): string {
  return text
    .split("\n")
    .map((line) => `${" ".repeat(spaces)}${line}`)
    .join("\n");
}
