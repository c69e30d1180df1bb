import type { UserResolver } from "hrp-cron";
import { AppUser } from "./entities";

/**
 * The application's own users, as hrp-cron sees them: jobs store an
 * `app_user.id` and run as that user (`env.uid`), and `uuid` is the identity
 * that never passes to another person (a job refuses to run if its id later
 * belongs to someone else). Reads through `manager`, so the lookup is part of
 * the job's transaction. With this resolver in the config, the CLI migrates
 * without hrp-cron's own `res_users` table.
 */
export const appUserResolver: UserResolver = {
  async findUser(manager, id) {
    const user = await manager.findOneBy(AppUser, { id });
    if (!user) return null;
    return {
      id: user.id,
      login: user.username,
      name: user.fullName,
      active: user.enabled,
      tz: user.tz,
      key: user.uuid,
    };
  },
};
