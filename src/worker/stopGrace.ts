import { setMaxListeners } from "node:events";

/** The worker-stop controller: every running job listens to it, so it may have many listeners. */
export function workerAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * A graceful stop's wait: `loop` gets `gracefulStopMs` to finish by itself;
 * then `abort` fires (the running jobs' `env.signal`) and it gets
 * `abandonAfterAbortMs` more. Resolves `"abandoned"` when it did not
 * finish in time (a method that ignores its signal), else `"finished"`.
 */
export async function finishOrAbandon(
  loop: Promise<void> | null,
  abort: AbortController,
  gracefulStopMs: number,
  abandonAfterAbortMs: number,
): Promise<"finished" | "abandoned"> {
  let timer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<"abandoned">((resolve) => {
    timer = setTimeout(() => {
      abort.abort(new Error("worker stopping"));
      timer = setTimeout(() => resolve("abandoned"), abandonAfterAbortMs);
    }, gracefulStopMs);
  });
  try {
    return (await Promise.race([loop, abandoned])) === "abandoned" ? "abandoned" : "finished";
  } finally {
    clearTimeout(timer);
  }
}
