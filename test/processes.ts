import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import type { TestDb } from "./helpers";

const CHILD = join(__dirname, "fixtures", "worker-child.js");

/** A worker child process (test/fixtures/worker-child.js) with its output captured. */
export interface WorkerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves once the output matches `pattern` (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

export function spawnWorker(db: Pick<TestDb, "location">, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, HRP_TEST_LOCATION: JSON.stringify(db.location), HRP_CRON_LOG_LEVEL: "warn", ...env },
  });
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const l of listeners) l();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in worker output:\n${output.slice(-3000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

/** Polls `probe` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => Promise<string> | string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not reached in ${timeoutMs} ms: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops workers with SIGTERM and waits; kills what does not exit. */
export async function stopAll(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
  await Promise.all(
    workers.map(async (w) => {
      const timer = setTimeout(() => w.child.kill("SIGKILL"), 15_000);
      await w.exited;
      clearTimeout(timer);
    }),
  );
}
