import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { dateColumn } from "./columns";

/**
 * `res_users`: the users jobs run as. The migrations create Administrator
 * with id 1 (login `admin`). Applications that keep users elsewhere plug in a
 * `UserResolver` instead of filling this table.
 */
@Entity({ name: "res_users", synchronize: false })
export class ResUsers {
  @PrimaryGeneratedColumn({ type: "integer" })
  id!: number;

  /** Unique login name. */
  @Column({ type: "varchar", length: 128 })
  login!: string;

  @Column({ type: "varchar", length: 256 })
  name!: string;

  /** Inactive users cannot own new jobs, and jobs stored for them fail instead of running. */
  @Column({ type: "boolean", default: true })
  active!: boolean;

  /** IANA time zone used for the user's interval arithmetic (`Europe/Berlin`); null means UTC. */
  @Column({ type: "varchar", length: 64, nullable: true })
  tz!: string | null;

  @Column(dateColumn("create_date"))
  createDate!: Date | null;
}
