import type { Backend } from "../backend";
import type { Operator } from "../core/operator";
import { recordAction } from "../store/actions";
import { setSchedulerControl, setTypeStopped } from "../store/scheduler";
import type { SchedulerControl } from "./schedulerInput";

/** The scheduler's operator actions, each written with its action-log row in one transaction. */

/** Stops or starts Scheduled Job Type `id` (`Scheduler.setStopped`). */
export async function setStoppedAudited(
  backend: Backend,
  now: Date,
  id: number,
  stopped: boolean,
  by: Operator,
): Promise<void> {
  await backend.transaction(async (m) => {
    await setTypeStopped(m, id, stopped);
    await recordAction(backend, m, by, now, {
      action: stopped ? "stop_job_type" : "start_job_type",
      targetType: "job_type",
      targetId: id,
      affected: 1,
      outcome: `scheduled job type ${id} is ${stopped ? "stopped" : "started"}`,
    });
  });
}

/** Pauses, resumes, enables or disables the scheduler (`Scheduler.setControl`). */
export async function setControlAudited(
  backend: Backend,
  now: Date,
  change: SchedulerControl,
  by: Operator,
): Promise<void> {
  const words = [
    change.paused === undefined ? "" : change.paused ? "paused" : "resumed",
    change.enabled === undefined ? "" : change.enabled ? "enabled" : "disabled",
  ];
  await backend.transaction(async (m) => {
    await setSchedulerControl(backend, m, change.paused ?? null, change.enabled ?? null);
    await recordAction(backend, m, by, now, {
      action: "scheduler_control",
      targetType: "scheduler",
      filter: { ...change },
      affected: 1,
      outcome: `scheduler ${words.filter(Boolean).join(" and ")}`,
    });
  });
}
