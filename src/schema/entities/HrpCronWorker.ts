import { Column, Entity, PrimaryColumn } from "typeorm";
import { dateColumn, intColumn } from "./columns";

/**
 * `hrp_cron_worker`: one row per running dispatcher. Workers heartbeat
 * `last_seen_at`; a claim held by a worker that stopped heartbeating (or
 * whose process is gone) is recovered by the others.
 */
@Entity({ name: "hrp_cron_worker", synchronize: false })
export class HrpCronWorker {
  /** `host:pid:random`, unique per dispatcher instance. */
  @PrimaryColumn({ type: "varchar", length: 128 })
  id!: string;

  @Column({ type: "varchar", length: 128 })
  hostname!: string;

  @Column(intColumn("pid"))
  pid!: number;

  @Column(dateColumn("started_at", { nullable: false }))
  startedAt!: Date;

  @Column(dateColumn("last_seen_at", { nullable: false }))
  lastSeenAt!: Date;

  /** JSON array of the `model.method` names this worker serves (its registry at registration); null: not said. */
  @Column({ type: "text", nullable: true })
  methods!: string | null;
}
