import type { DataSource } from "typeorm";
import { JobAdmin } from "../api/jobAdmin";
import { backendFor } from "../backend";
import { doctorFacts } from "../store/doctor";
import { DEFAULTS } from "../core/options";
import type { Scheduler } from "../scheduler/scheduler";
import { progressText } from "./commands/shared";
import { renderTable } from "./table";

/**
 * `hrp-cron doctor`: one screen answering "is background work healthy?" —
 * scheduler state and leader, workers and their heartbeats, what waits per
 * queue and method, methods no live worker serves (their jobs wait, then
 * fail after `unknownMethodGraceMs`), runs held longer than their timeout or
 * by silent workers, and crons that keep failing.
 */
export async function doctorData(dataSource: DataSource, scheduler: Scheduler, now = new Date()) {
  const facts = await doctorFacts(backendFor(dataSource), DEFAULTS.workerTimeoutMs);
  const stuck = facts.running.filter((r) => {
    const overTimeout =
      r.timeoutMs !== null && r.runningSince !== null && now.getTime() - r.runningSince.getTime() > r.timeoutMs;
    return overTimeout || r.lastSeenAt === null;
  });
  const admin = new JobAdmin(dataSource);
  return {
    at: now,
    paused: (await admin.queuePauses()).filter((p) => p.paused),
    lastActions: await admin.listActions({ limit: 5 }),
    scheduler: await scheduler.status(),
    types: await scheduler.listTypes(),
    failingTypes: await scheduler.failingTypes(),
    ...facts,
    stuck,
  };
}

/** Everything `hrp-cron doctor` reports (also its `--json`). */
export type DoctorData = Awaited<ReturnType<typeof doctorData>>;

/** The text of `hrp-cron doctor`. */
export function renderDoctor(data: DoctorData): string {
  const { at: now, scheduler: status, types, failingTypes, workers, pending, unserved, running, failing, stuck } = data;
  const { paused, lastActions } = data;
  const ageS = (d: Date | null) => (d ? Math.round((now.getTime() - d.getTime()) / 1000) : null);
  return [
    `Scheduler: ${status.enabled ? "enabled" : "DISABLED"}, ${status.paused ? "PAUSED" : "active"}; leader ${status.leaderId ?? "none"}` +
      `${status.leaderUntil ? ` (lease until ${status.leaderUntil.toISOString()})` : ""}; last tick ${status.lastTick?.toISOString() ?? "never"}`,
    `Scheduled job types: ${types.length} (${types.filter((t) => t.stopped).length} stopped); next: ${
      types.filter((t) => !t.stopped).sort((a, b) => a.nextRunAt.getTime() - b.nextRunAt.getTime())[0]?.method ?? "-"
    }`,
    "",
    `Workers online: ${workers.length}`,
    renderTable(
      ["worker", "host", "pid", "started", "last heartbeat (s ago)"],
      workers.map((w) => [w.id, w.hostname, w.pid, w.startedAt, ageS(w.lastSeenAt)]),
    ),
    "",
    "Pending jobs per queue and method:",
    renderTable(
      ["queue", "method", "pending", "oldest due"],
      pending.map((p) => [p.queue, p.method, p.count, p.oldest]),
    ),
    "",
    `Methods no live worker serves (their jobs wait, then fail after unknownMethodGraceMs): ${unserved.length}`,
    renderTable(
      ["method", "crons/jobs", "next due", "unserved since"],
      unserved.map((u) => [u.method, u.count, u.nextDue, u.since]),
    ),
    "",
    `Running: ${running.length}; stuck (past timeout or worker gone): ${stuck.length}`,
    renderTable(
      ["cron", "job", "name", "queue", "worker", "running (s)", "progress", "stuck"],
      running.map((r) => [
        r.id,
        r.jobId,
        r.name,
        r.queue,
        r.runningWorker,
        ageS(r.runningSince),
        r.progressDone === null
          ? null
          : `${progressText(r.progressDone, r.progressTotal)}${r.progressMessage ? ` ${r.progressMessage}` : ""}`,
        stuck.includes(r) ? "yes" : "",
      ]),
    ),
    "",
    `Failing crons: ${failing.length}`,
    renderTable(
      ["cron", "name", "failures", "since", "active"],
      failing.map((f) => [f.id, f.name, f.failureCount, f.firstFailureDate, f.active ? "yes" : "no"]),
    ),
    "",
    `Failing scheduled job types: ${failingTypes.length}`,
    renderTable(
      ["type", "method", "failed at", "error"],
      failingTypes.map((t) => [t.id, t.method, t.failedAt, t.error]),
    ),
    "",
    `Paused queues: ${paused.length}`,
    renderTable(
      ["queue", "since", "by", "reason"],
      paused.map((p) => [p.queue, p.changedAt, p.changedBy, p.reason]),
    ),
    "",
    "Last operator actions (hrp-cron actions for more):",
    renderTable(
      ["at", "by", "action", "target", "reason"],
      lastActions.map((a) => [
        a.createdAt,
        a.actor,
        a.action,
        a.targetId !== null ? `${a.targetType} ${a.targetId}` : a.targetType,
        a.reason,
      ]),
    ),
  ].join("\n");
}

/** The doctor report as text: {@link doctorData} rendered by {@link renderDoctor}. */
export async function doctorReport(dataSource: DataSource, scheduler: Scheduler, now = new Date()): Promise<string> {
  return renderDoctor(await doctorData(dataSource, scheduler, now));
}
