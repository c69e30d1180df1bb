import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

/**
 * The application's users (not hrp-cron's `res_users`): jobs run as one of
 * them, found by `appUserResolver` (users.ts).
 */
@Entity({ name: "app_user" })
export class AppUser {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 64, unique: true })
  username!: string;

  @Column({ name: "full_name", type: "varchar", length: 128 })
  fullName!: string;

  @Column({ type: "boolean", default: true })
  enabled!: boolean;

  /** IANA time zone of the user's wall clock, or null for UTC. */
  @Column({ type: "varchar", length: 64, nullable: true })
  tz!: string | null;

  /** Never reused: the identity a job checks before it runs as this id. */
  @Column({ type: "varchar", length: 36, unique: true })
  uuid!: string;
}

/** An asset receiving application (验收申请): approved, then posted by a background job. */
@Entity({ name: "hrp_asset_receiving_application" })
export class AssetReceivingApplication {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 64 })
  name!: string;

  /** Amount in cents. */
  @Column({ type: "integer" })
  amount!: number;

  /** draft -> approved (job scheduled) -> posted (account move created by the job). */
  @Column({ type: "varchar", length: 16, default: "draft" })
  state!: "draft" | "approved" | "posted";

  @Column({ name: "approved_uid", type: "integer", nullable: true })
  approvedUid!: number | null;
}

/** The accounting entry the job creates, one per application (unique `ref`). */
@Entity({ name: "account_move" })
export class AccountMove {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  @Column({ type: "varchar", length: 64, unique: true })
  ref!: string;

  @Column({ name: "application_id", type: "integer" })
  applicationId!: number;

  @Column({ type: "integer" })
  amount!: number;

  /** The user the job ran as: the approver, as in Odoo's env.user. */
  @Column({ name: "create_uid", type: "integer" })
  createUid!: number;
}

export const EXAMPLE_ENTITIES = [AppUser, AssetReceivingApplication, AccountMove];
