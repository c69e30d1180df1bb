import { dateFlag, intFlag, noPositionals, stringFlag } from "../args";
import { openRunPrint, output, type Command } from "../database";
import { renderTable } from "../table";

/** `hrp-cron actions`: the operator action log. Only reads. */

export const ACTION_COMMANDS: Record<string, Command> = {
  actions: {
    summary: "the operator action log: who retried, cancelled, stopped, purged or (de)activated what, and why",
    description:
      "Every operator action from the API, the CLI or the dashboard writes one row of hrp_cron_action in the\n" +
      "same transaction as its change (a refused action leaves none). Purge never deletes it.",
    options: {
      since: { type: "string", value: "ISO_DATE", help: "actions from this date" },
      until: { type: "string", value: "ISO_DATE", help: "actions before this date" },
      by: { type: "string", value: "LOGIN", help: "actions of this operator" },
      user: { type: "string", value: "LOGIN", help: "the same as --by" },
      action: {
        type: "string",
        value: "NAME",
        help: "actions of this kind: retry, cancel, stop, purge, activate, ...",
      },
      job: { type: "string", value: "ID", help: "actions on this job" },
      cron: { type: "string", value: "ID", help: "actions on this cron" },
      limit: { type: "string", value: "N", help: "at most N rows (default 100)" },
    },
    json: true,
    examples: ["hrp-cron actions --since 2026-12-01 --action cancel", "hrp-cron actions --job 42"],
    async run(ctx) {
      const { args } = ctx;
      noPositionals(args);
      const job = intFlag(args, "job", 1, 2_147_483_647);
      const cron = intFlag(args, "cron", 1, 2_147_483_647);
      const filter = {
        since: dateFlag(args, "since"),
        until: dateFlag(args, "until"),
        by: stringFlag(args, "by") ?? stringFlag(args, "user"),
        action: stringFlag(args, "action"),
        ...(job !== undefined ? { targetType: "job", targetId: job } : {}),
        ...(cron !== undefined ? { targetType: "cron", targetId: cron } : {}),
        limit: intFlag(args, "limit", 1, 100_000),
      };
      return openRunPrint(ctx, "read", async ({ admin }) => {
        const actions = await admin.listActions(filter);
        return output(ctx, actions, () =>
          renderTable(
            ["id", "at (UTC)", "by", "from", "action", "target", "rows", "reason", "outcome"],
            actions.map((a) => [
              a.id,
              a.createdAt,
              a.actor,
              a.source,
              a.action,
              a.targetId !== null
                ? `${a.targetType} ${a.targetId}`
                : a.targetType === "queue"
                  ? `queue ${String(a.filter?.queue)}`
                  : a.targetType,
              a.affected,
              a.reason,
              a.outcome,
            ]),
          ),
        );
      });
    },
  },
};
