/**
 * Entry point of a sandbox thread (see pool.ts). It opens its own
 * DataSource from the app's config file and runs claimed crons with the
 * parent worker's id, so the claim compare-and-set matches. The parent can
 * `terminate()` it at any time, even inside a synchronous loop; its
 * connection then closes and the open transaction rolls back.
 */
import "reflect-metadata";
import { parentPort, workerData } from "node:worker_threads";
import { backendFor, localFor } from "../backend";
import { ClaimStore } from "../store/claims";
import { loadConfig, openDataSource, openRegistry } from "./loadConfig";
import { DispatcherEvents } from "../worker/events";
import { Executor } from "../worker/executor";
import { consoleLogger } from "../core/logger";
import { resolveDispatcherOptions } from "../core/resolveOptions";
import { ResUsersResolver } from "../store/users";
import type { ClaimedRun } from "../store/claims";

interface Init {
  readonly configPath: string;
  readonly workerId: string;
}

type Message =
  { type: "run"; run: ClaimedRun } | { type: "stop"; key: string; jobId: number | null } | { type: "abort" };

async function main(): Promise<void> {
  const { configPath, workerId } = workerData as Init;
  const config = loadConfig(configPath);
  const dataSource = await openDataSource(config);
  const registry = await openRegistry(config);
  const backend = backendFor(dataSource);
  const options = resolveDispatcherOptions(
    { logger: consoleLogger("warn"), ...config.dispatcher, workers: config.workers },
    backend.serialTransactions,
    config.userResolver ?? new ResUsersResolver(),
  );
  const local = localFor(dataSource);
  const claims = new ClaimStore(backend, options.logger);
  // Events of runs in a thread are emitted by the parent's dispatcher (the thread's have no listener).
  const executor = new Executor(
    backend,
    claims,
    registry,
    options,
    workerId,
    local.runs,
    new DispatcherEvents(options.logger),
  );
  const abort = new AbortController();
  parentPort!.on("message", (message: Message) => {
    if (message.type === "run") {
      executor.execute(message.run, abort.signal).then(
        (result) => parentPort!.postMessage({ type: "result", result }),
        (error: unknown) =>
          parentPort!.postMessage({
            type: "error",
            error: String(error),
            claimLost: (error as Error)?.name === "ClaimLostError",
          }),
      );
    } else if (message.type === "stop") executor.requestStop(message.key, message.jobId);
    else abort.abort(new Error("worker stopping"));
  });
  parentPort!.postMessage({ type: "ready" });
}

main().catch((error: unknown) => parentPort!.postMessage({ type: "fatal", error: String(error) }));
