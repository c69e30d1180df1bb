// Measuring a drain and a latency sample, shared by every adapter in systems.js.
"use strict";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const DRAIN_TIMEOUT_MS = 900_000;
/**
 * How long after the N-th handler return the store may take to show every job completed and every row committed
 * (HRP_BENCH_SETTLE_TIMEOUT_MS: bench/selftest.js shortens it to see a lost row fail the drain quickly).
 */
const SETTLE_TIMEOUT_MS = Number(process.env.HRP_BENCH_SETTLE_TIMEOUT_MS || 60_000);

async function waitFor(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Counts handler starts and returns. Handlers call start() first and finish(jobs) last; `done` resolves at the
 * target count, so the harness does not poll while the system drains.
 */
function tracker() {
  const t = {
    reset(target) {
      t.target = target;
      t.finished = 0;
      t.first = null;
      t.last = null;
      // One timer per drain, cleared when it ends or the next begins: a timer left behind would reject a
      // promise nobody awaits any more, an unhandled rejection that ends the whole run 15 minutes later.
      clearTimeout(t.timer);
      t.done = new Promise((resolve, reject) => {
        t.resolve = () => {
          clearTimeout(t.timer);
          resolve();
        };
        t.timer = setTimeout(
          () => reject(new Error(`drain timed out after ${DRAIN_TIMEOUT_MS} ms (${t.finished}/${target} jobs)`)),
          DRAIN_TIMEOUT_MS,
        );
        t.timer.unref();
      });
    },
    start() {
      if (t.first === null) t.first = performance.now();
    },
    finish(count = 1) {
      t.finished += count;
      if (t.finished >= t.target && t.last === null) {
        t.last = performance.now();
        t.resolve();
      }
    },
    /**
     * Ends the measurement once the store agrees the drain is over. Probes, each optional:
     * - remaining(): jobs not yet completed in the system's store (pg-boss does not await complete(); graphile-worker
     *   batches completions; BullMQ moves a job to completed after its handler; hrp-cron commits a batch of jobs after
     *   the last handler of the batch returned);
     * - visible(): application rows committed and visible on a connection of the harness's own (writing workloads).
     * Without probes the end is the n-th handler return. With probes, polling starts at the n-th handler return and
     * the end is the moment the last probe of the first poll that saw everything settled (all rows visible, then no
     * job remaining) was sent: both only move one way, so everything held by then, to within one query.
     */
    async result(t0, { remaining, visible } = {}) {
      const checks = [];
      const seen = {};
      if (visible) checks.push(async () => (seen.visible = await visible()) >= t.target);
      if (remaining) checks.push(async () => (seen.remaining = await remaining()) === 0);
      let end = t.last;
      if (checks.length) {
        const deadline = Date.now() + SETTLE_TIMEOUT_MS;
        for (;;) {
          let settledAt = null;
          for (const check of checks) {
            const at = performance.now();
            if (!(await check())) {
              settledAt = null;
              break;
            }
            settledAt = at;
          }
          if (settledAt !== null) {
            end = Math.max(t.last, settledAt);
            break;
          }
          if (Date.now() > deadline) {
            const saw = [];
            if (seen.visible !== undefined) saw.push(`${seen.visible} of ${t.target} rows were visible`);
            if (seen.remaining !== undefined) saw.push(`${seen.remaining} jobs were not completed`);
            throw new Error(`${SETTLE_TIMEOUT_MS / 1000} s after the last handler returned, ${saw.join(" and ")}`);
          }
          await sleep(2);
        }
      }
      return { ms: end - t.first, msWithStartup: end - t0, handlerMs: t.last - t.first };
    },
  };
  // Not reset() here: a tracker no drain uses must not arm a timer.
  Object.assign(t, { target: Infinity, finished: 0, first: null, last: null, done: null, timer: undefined });
  return t;
}

/** Per-job latency samples: stamp() in the handler, wait(i) in the driver. */
function stamps() {
  const started = new Map();
  const waiters = new Map();
  return {
    stamp(i) {
      started.set(i, process.hrtime.bigint());
      waiters.get(i)?.();
    },
    async after(i, committedAt) {
      if (!started.has(i)) {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`job ${i} did not start within 10 s`)), 10_000);
          waiters.set(i, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      waiters.delete(i);
      return Number(started.get(i) - committedAt) / 1e6;
    },
  };
}

module.exports = { sleep, waitFor, tracker, stamps, DRAIN_TIMEOUT_MS };
