import type { EntityManager } from "typeorm";
import { backendFor } from "../backend";
import type { JobUser, UserResolver } from "../core/users";

/** The default resolver: `res_users`, created by the migrations with Administrator as id 1. */
export class ResUsersResolver implements UserResolver {
  async findUser(manager: EntityManager, userId: number): Promise<JobUser | null> {
    const backend = backendFor(manager.connection);
    const [row] = await backend.query<{ id: unknown; login: string; name: string; active: unknown; tz: string | null }>(
      manager,
      `SELECT id, login, name, active, tz FROM res_users WHERE id = ?`,
      [userId],
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
