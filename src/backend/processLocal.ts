import { EventEmitter } from "node:events";
import type {
  DataSource,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from "typeorm";

/**
 * What the hrp-cron objects of one DataSource share within this process,
 * beyond the database: who is alive here, which runs are in progress here,
 * and in-process wake-ups. One set per DataSource, kept with its backend
 * (`localFor(dataSource)`), so nothing is shared through module state and
 * two DataSources never see each other's.
 */
export interface ProcessLocal {
  readonly wakeups: WakeupHub;
  readonly runs: RunRegistry;
  readonly workers: LiveWorkers;
}

/** A new, empty set for `dataSource`. */
export function newProcessLocal(dataSource: DataSource): ProcessLocal {
  return { wakeups: new WakeupHub(dataSource), runs: new RunRegistry(), workers: new LiveWorkers() };
}

/**
 * Where new work is: the (queue, priority) band a claim takes it from, and
 * whether any of it has a concurrency key (such rows are claimed by the
 * limit-aware path). A wake-up that names its bands lets an idle dispatcher
 * claim them without first looking for due bands, and wakes only the
 * dispatchers that serve the queue.
 */
export interface WorkBand {
  readonly queue: string;
  readonly priority: number;
  readonly keyed: boolean;
  /**
   * The users the new work runs as, when they are few (at most
   * {@link MAX_HINTED_USERS}); absent: not said. A hint only: the worker that
   * claims the work looks them up while its claim runs; nothing trusts it.
   */
  readonly users?: readonly number[];
}

/** A band names at most this many users (see `WorkBand.users`); more are not named at all. */
export const MAX_HINTED_USERS = 4;

/** The band of a new job (or cron) row. */
export function workBandOf(row: {
  readonly queue: string;
  readonly priority: number;
  readonly concurrencyKey: string | null;
  readonly userId: number;
}): WorkBand {
  return { queue: row.queue, priority: row.priority, keyed: row.concurrencyKey !== null, users: [row.userId] };
}

/** `into` plus `more`, one entry per (queue, priority); keyed if any of its entries is; users joined while few. */
export function mergeBands(into: readonly WorkBand[], more: readonly WorkBand[]): WorkBand[] {
  const merged = new Map<string, WorkBand>();
  for (const band of [...into, ...more]) {
    const key = `${band.priority}:${band.queue}`;
    const seen = merged.get(key);
    merged.set(
      key,
      seen ? { ...seen, keyed: seen.keyed || band.keyed, users: joinUsers(seen.users, band.users) } : band,
    );
  }
  return [...merged.values()];
}

/** Both lists of users, once each; absent when either is or when they are more than {@link MAX_HINTED_USERS}. */
export function joinUsers(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
): readonly number[] | undefined {
  if (!a || !b) return undefined;
  const users = [...new Set([...a, ...b])];
  return users.length <= MAX_HINTED_USERS ? users : undefined;
}

/** What a wake-up says: work may be due at `at`, in `bands` (null: anywhere). */
export type Wakeup = (at: Date, bands: readonly WorkBand[] | null) => void;

/**
 * In-process wake-up: when a cron becomes due sooner than a dispatcher's
 * next poll (a job added, a cron triggered), dispatchers of the same
 * DataSource are told at once instead of waiting for their poll. Work
 * written inside a caller's transaction is announced only when that
 * transaction commits, and never if it rolls back. Across processes (and
 * DataSources) PostgreSQL's NOTIFY and the poll interval are the backstop.
 */
export class WakeupHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** Per open transaction: the earliest `at` announced in it, and its bands (null once one announcement named none). */
  private readonly pending = new WeakMap<QueryRunner, { at: Date; bands: WorkBand[] | null }>();
  private hooked = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Announces that work may be due at `at`, in `bands` (default: anywhere). */
  notify(at: Date, bands: readonly WorkBand[] | null = null): void {
    this.emitter.emit("work", at, bands);
  }

  /** Announces `at` (and `bands`) once `runner`'s transaction commits (at once when no transaction is open). */
  notifyAfterCommit(runner: QueryRunner | undefined, at: Date, bands: readonly WorkBand[] | null = null): void {
    if (!runner?.isTransactionActive) return this.notify(at, bands);
    this.hook();
    const earlier = this.pending.get(runner);
    if (!earlier) {
      this.pending.set(runner, { at, bands: bands && mergeBands([], bands) });
      return;
    }
    if (at < earlier.at) earlier.at = at;
    earlier.bands = earlier.bands && bands ? mergeBands(earlier.bands, bands) : null;
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: Wakeup): () => void {
    this.emitter.on("work", listener);
    return () => this.emitter.off("work", listener);
  }

  private hook(): void {
    if (this.hooked) return;
    this.hooked = true;
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: (event: TransactionCommitEvent) => {
        const work = this.pending.get(event.queryRunner);
        // A released savepoint also "commits": wait for the outermost commit.
        if (work && !event.queryRunner.isTransactionActive) {
          this.pending.delete(event.queryRunner);
          this.notify(work.at, work.bands);
        }
      },
      afterTransactionRollback: (event: TransactionRollbackEvent) => {
        if (!event.queryRunner.isTransactionActive) this.pending.delete(event.queryRunner);
      },
    };
    this.dataSource.subscribers.push(subscriber);
  }
}

/**
 * Job runs in progress in this process, by job id, so that an operator's
 * stop request for one (`stopJob`) needs no database round trip. (On SQLite
 * a running job holds the write lock, so this is how a stop gets through at
 * once.) Executors add their runs; `stopJob` asks here first.
 */
export class RunRegistry {
  private readonly stops = new Map<number, () => boolean>();

  /** Registers the run of job `jobId`; `stop` aborts it and says whether it did. Returns the unregister function. */
  add(jobId: number, stop: () => boolean): () => void {
    this.stops.set(jobId, stop);
    return () => {
      if (this.stops.get(jobId) === stop) this.stops.delete(jobId);
    };
  }

  /** Stops job `jobId` if it runs in this process; returns whether it did. */
  stopJob(jobId: number): boolean {
    return this.stops.get(jobId)?.() ?? false;
  }
}

/**
 * The dispatchers of this DataSource registered and not stopped. Recovery
 * reads it for claims held by this very process: a claim of a worker id
 * listed here is alive whatever its heartbeat says; one registered by this
 * process but not listed (a stopped dispatcher) is recovered at once. A
 * claim of this process made through another DataSource is judged by its
 * heartbeat, like any other process's.
 */
export class LiveWorkers {
  private readonly live = new Set<string>();
  private readonly stopped = new Set<string>();

  /** A dispatcher registered (or registered again). */
  add(workerId: string): void {
    this.live.add(workerId);
    this.stopped.delete(workerId);
  }

  /** A dispatcher unregistered: its claims are stale from now on. */
  delete(workerId: string): void {
    if (this.live.delete(workerId)) this.stopped.add(workerId);
  }

  has(workerId: string): boolean {
    return this.live.has(workerId);
  }

  /** `live` or `stopped` for a dispatcher of this DataSource, `unknown` for any other worker id (another DataSource's, another process's). */
  state(workerId: string): "live" | "stopped" | "unknown" {
    return this.live.has(workerId) ? "live" : this.stopped.has(workerId) ? "stopped" : "unknown";
  }
}
