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
 * In-process wake-up: when a cron becomes due sooner than a dispatcher's
 * next poll (a job added, a cron triggered), dispatchers of the same
 * DataSource are told at once instead of waiting for their poll. Work
 * written inside a caller's transaction is announced only when that
 * transaction commits, and never if it rolls back. Across processes (and
 * DataSources) PostgreSQL's NOTIFY and the poll interval are the backstop.
 */
export class WakeupHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly pending = new WeakMap<QueryRunner, Date>();
  private hooked = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Announces that work may be due at `at`. */
  notify(at: Date): void {
    this.emitter.emit("work", at);
  }

  /** Announces `at` once `runner`'s transaction commits (at once when no transaction is open). */
  notifyAfterCommit(runner: QueryRunner | undefined, at: Date): void {
    if (!runner?.isTransactionActive) return this.notify(at);
    this.hook();
    const earlier = this.pending.get(runner);
    this.pending.set(runner, earlier && earlier < at ? earlier : at);
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: (at: Date) => void): () => void {
    this.emitter.on("work", listener);
    return () => this.emitter.off("work", listener);
  }

  private hook(): void {
    if (this.hooked) return;
    this.hooked = true;
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: (event: TransactionCommitEvent) => {
        const at = this.pending.get(event.queryRunner);
        // A released savepoint also "commits": wait for the outermost commit.
        if (at && !event.queryRunner.isTransactionActive) {
          this.pending.delete(event.queryRunner);
          this.notify(at);
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
