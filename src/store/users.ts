import type { EntityManager } from "typeorm";
import { backendFor } from "../backend";
import type { JobUser, UserResolver } from "../core/users";

/** The default resolver: `res_users`, created by the migrations with Administrator as id 1. */
export class ResUsersResolver implements UserResolver {
  findUser(manager: EntityManager, userId: number): Promise<JobUser | null> {
    return this.findBy(manager, "id", userId);
  }

  findUserByLogin(manager: EntityManager, login: string): Promise<JobUser | null> {
    return this.findBy(manager, "login", login);
  }

  private async findBy(manager: EntityManager, column: "id" | "login", value: unknown): Promise<JobUser | null> {
    const backend = backendFor(manager.connection);
    const [row] = await backend.query<{ id: unknown; login: string; name: string; active: unknown; tz: string | null }>(
      manager,
      `SELECT id, login, name, active, tz FROM res_users WHERE ${column} = ?`,
      [value],
    );
    if (!row) return null;
    return {
      id: Number(row.id),
      login: row.login,
      name: row.name,
      active: backend.fromDbBool(row.active),
      tz: row.tz ?? null,
    };
  }
}
