import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { ClaimedRun } from "../store/claims";
import { ClaimLostError, ConfigError, JobTimeoutError } from "../core/errors";
import type { Executor } from "./executor";
import type { SandboxOptions } from "../core/options";
import type { Logger, RunResult } from "../core/types";
import { timerDelayMs } from "../core/validate";

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
}

/**
 * Runs each claimed cron in a worker thread, so that a run over its timeout
 * can really be killed — even a method stuck in a synchronous loop. One
 * thread per slot, reused across runs and replaced after a kill. The
 * thread has its own database connection; killing it closes that
 * connection, which rolls the run back; the parent then records the
 * timeout failure itself (it holds the same claim).
 *
 * Trade-off: each thread loads the app's config and opens its own
 * connection (memory and start-up time per slot), and job methods cannot
 * share in-memory state with the main thread.
 */
export class SandboxPool {
  private readonly slots: Slot[] = [];
  private readonly script = resolveThreadScript();

  constructor(
    private readonly options: Required<SandboxOptions>,
    private readonly workerId: string,
    private readonly logger: Logger,
  ) {
    if (!existsSync(options.configPath))
      throw new ConfigError(`sandbox.configPath ${options.configPath} does not exist`, { path: options.configPath });
  }

  /**
   * Runs a claimed run in a free thread (the run, with its callbacks, is
   * posted to it); if it must be killed, `parent` records the failure (the
   * thread cannot).
   */
  async run(claimed: ClaimedRun, parent: Executor, signal: AbortSignal): Promise<RunResult> {
    const { cron } = claimed;
    const slot = this.slots.find((s) => !s.busy) ?? this.spawn();
    slot.busy = true;
    await slot.ready;
    const start = new Date();
    const graceMs = this.options.hardKillGraceMs;
    return new Promise<RunResult>((resolve, reject) => {
      const onAbort = () => slot.worker.postMessage({ type: "abort" });
      signal.addEventListener("abort", onAbort, { once: true });
      const hardTimer = cron.timeoutMs
        ? setTimeout(
            () => {
              this.logger.error("job did not unwind after its timeout; terminating its thread", {
                cronId: cron.id,
                timeoutMs: cron.timeoutMs,
              });
              cleanup();
              // Wait until the thread (and its connection, which rolls the run back) is gone, then record the failure here.
              this.kill(slot)
                .then(() => parent.recordKilled(claimed, start, new JobTimeoutError(cron.timeoutMs!)))
                .then(resolve, reject);
            },
            timerDelayMs(cron.timeoutMs + graceMs),
          )
        : undefined;
      const onMessage = (message: { type: string; result?: RunResult; error?: string; claimLost?: boolean }) => {
        if (message.type !== "result" && message.type !== "error") return;
        cleanup();
        slot.busy = false;
        if (message.type === "result") resolve(message.result!);
        else if (message.claimLost) reject(new ClaimLostError(cron.id, this.workerId, cron.hrpCronJobId));
        else reject(new Error(message.error));
      };
      const cleanup = () => {
        clearTimeout(hardTimer);
        signal.removeEventListener("abort", onAbort);
        slot.worker.off("message", onMessage);
      };
      slot.worker.on("message", onMessage);
      slot.worker.postMessage({ type: "run", run: claimed });
    });
  }

  /** Forwards an operator's stop request to the thread running run `key`. */
  requestStop(key: string, jobId: number | null): void {
    for (const slot of this.slots) if (slot.busy) slot.worker.postMessage({ type: "stop", key, jobId });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, {
      workerData: { configPath: this.options.configPath, workerId: this.workerId },
      env: { ...process.env },
    });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; error?: string }) => {
        if (m.type === "ready") resolve();
        if (m.type === "fatal") reject(new ConfigError(`sandbox thread could not start: ${m.error}`, {}));
        if (m.type === "ready" || m.type === "fatal") worker.off("message", onMessage);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
    ready.catch(() => undefined);
    const slot: Slot = { worker, ready, busy: false };
    worker.on("error", (error) => this.logger.error("sandbox thread crashed", { error: String(error) }));
    worker.on("exit", () => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
    });
    this.slots.push(slot);
    return slot;
  }

  private async kill(slot: Slot): Promise<void> {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    await slot.worker.terminate();
  }
}

/** The compiled thread entry (dist/src/cli/sandboxThread.js), also when running from TypeScript sources. */
function resolveThreadScript(): string {
  const here = join(__dirname, "..", "cli", "sandboxThread.js");
  if (existsSync(here)) return here;
  const compiled = join(__dirname, "..", "..", "dist", "src", "cli", "sandboxThread.js");
  if (existsSync(compiled)) return compiled;
  throw new ConfigError("sandbox thread script not found; run `npm run build`", { here, compiled });
}
