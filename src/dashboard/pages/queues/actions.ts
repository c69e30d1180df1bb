import { ValidationError } from "../../../core/errors";
import type { Handler, PageResult } from "../../context";
import { requireAction } from "../../view/components";
import { queueNameOf } from "./data";

/**
 * POST `/queues/:name/pause` (a reason required) and `/queues/:name/resume`:
 * `JobAdmin.pauseQueue` / `resumeQueue` with the operator, so the change
 * and its action-log row commit together; back (to the list or the
 * queue's page, where it was pressed) with a message. Pausing a
 * paused queue (or resuming a running one) is the API's InvalidStateError,
 * shown as a message, nothing written.
 */
function queueAction(paused: boolean): Handler {
  return async (ctx, params): Promise<PageResult> => {
    requireAction(ctx, paused ? "pauseQueue" : "resumeQueue");
    const queue = queueNameOf(params.name);
    const reason = ctx.form.get("reason")?.trim() || undefined;
    if (paused && !reason)
      throw new ValidationError("reason", "is required to pause a queue (the action log records it)", reason);
    const operator = { ...ctx.operator, ...(reason ? { reason } : {}) };
    if (paused) await ctx.admin.pauseQueue(queue, operator);
    else await ctx.admin.resumeQueue(queue, operator);
    const back = ctx.form.get("back");
    return {
      kind: "redirect",
      to: back && /^\/queues(?:[/?][^\s]*)?$/.test(back) ? back : `/queues/${encodeURIComponent(queue)}`,
      flash: { kind: "ok", text: ctx.t(paused ? "queues.done.pause" : "queues.done.resume", { queue }) },
    };
  };
}

/** POST `/queues/:name/pause`. */
export const pauseQueueAction = queueAction(true);

/** POST `/queues/:name/resume`. */
export const resumeQueueAction = queueAction(false);
