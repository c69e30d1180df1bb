import { EventEmitter } from "node:events";
import type { DataSource, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from "typeorm";

/**
 * In-process wake-up: when a cron becomes due sooner than a dispatcher's
 * next poll (a job added, a cron triggered), dispatchers in the same process
 * are told at once instead of waiting for their poll. Work written inside a
 * caller's transaction is announced only when that transaction commits, and
 * never if it rolls back. Across processes the poll interval is the backstop.
 */
class WakeupHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly pending = new WeakMap<QueryRunner, Date>();
  private readonly hooked = new WeakSet<DataSource>();

  /** Announces that work may be due at `at`. */
  notify(at: Date): void {
    this.emitter.emit("work", at);
  }

  /** Announces `at` once `runner`'s transaction commits (at once when no transaction is open). */
  notifyAfterCommit(dataSource: DataSource, runner: QueryRunner | undefined, at: Date): void {
    if (!runner?.isTransactionActive) return this.notify(at);
    this.hook(dataSource);
    const earlier = this.pending.get(runner);
    this.pending.set(runner, earlier && earlier < at ? earlier : at);
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: (at: Date) => void): () => void {
    this.emitter.on("work", listener);
    return () => this.emitter.off("work", listener);
  }

  private hook(dataSource: DataSource): void {
    if (this.hooked.has(dataSource)) return;
    this.hooked.add(dataSource);
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
    dataSource.subscribers.push(subscriber);
  }
}

/** The process-wide hub. */
export const wakeup = new WakeupHub();
