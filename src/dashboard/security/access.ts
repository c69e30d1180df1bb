/** Who may do what in the dashboard: what `resolveAccess` returns, and the checks made with it. */

/** Every state-changing action the dashboard offers; an access list names some of them. */
export const DASHBOARD_ACTIONS = [
  "retry",
  "cancel",
  "stop",
  "runNow",
  "pauseQueue",
  "resumeQueue",
  "activate",
  "deactivate",
] as const;

export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number];

/**
 * What `resolveAccess(user)` returns (as Oban Web's resolver): `"all"`,
 * `"read-only"` (every page, no action), `{ actions: [...] }` (every page,
 * only the actions named) or `"forbidden"` (no page at all).
 */
export type DashboardAccess = "all" | "read-only" | "forbidden" | { readonly actions: readonly DashboardAction[] };

/** The actions {@link DashboardAccess} allows, checked once per request. */
export class Access {
  private readonly allowed: ReadonlySet<DashboardAction>;

  /** @throws TypeError when `access` is none of the forms of {@link DashboardAccess} (a resolver bug, shown as a 500). */
  constructor(readonly access: DashboardAccess) {
    if (access === "all") this.allowed = new Set(DASHBOARD_ACTIONS);
    else if (access === "read-only" || access === "forbidden") this.allowed = new Set();
    else if (
      typeof access === "object" &&
      access !== null &&
      Array.isArray(access.actions) &&
      access.actions.every((a) => (DASHBOARD_ACTIONS as readonly string[]).includes(a))
    )
      this.allowed = new Set(access.actions);
    else
      throw new TypeError(
        `resolveAccess returned ${JSON.stringify(access)}: return "all", "read-only", "forbidden" or { actions: [${DASHBOARD_ACTIONS.map((a) => `"${a}"`).join(", ")}] }`,
      );
  }

  /** May see pages at all. */
  get canView(): boolean {
    return this.access !== "forbidden";
  }

  /** May take `action`. */
  can(action: DashboardAction): boolean {
    return this.allowed.has(action);
  }

  /** May take any action (pages show selection boxes and buttons only then). */
  get canAct(): boolean {
    return this.allowed.size > 0;
  }
}
