import { Column } from "typeorm";
import { intColumn } from "./columns";

/**
 * Columns `ir_cron` and `hrp_cron_job` share for queue work (migration
 * 0002): the claim reads them from `ir_cron`, audits read them from
 * `hrp_cron_job`.
 */
export abstract class QueueColumns {
  /** Queue the work runs in (`short`, `default`, `long` or a configured one). */
  @Column({ type: "varchar", length: 64, default: "default" })
  queue!: string;

  /** Run time limit; null means the queue's. */
  @Column(intColumn("timeout_ms", { nullable: true }))
  timeoutMs!: number | null;

  /** At most `concurrency_limit` runs with this key at once, across all workers. */
  @Column({ name: "concurrency_key", type: "varchar", length: 128, nullable: true })
  concurrencyKey!: string | null;

  @Column(intColumn("concurrency_limit", { nullable: true }))
  concurrencyLimit!: number | null;
}
