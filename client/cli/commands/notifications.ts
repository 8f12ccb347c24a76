import type { Command } from "commander";
import { InboxStore, type StoredNotification } from "../../../node/index.ts";

const ACTION_LABELS: Record<string, string> = {
  REQUESTED_ACTION_DISCREET_CHECK: "discreet_check",
  REQUESTED_ACTION_SPECIFIC_CHECK: "specific_check",
  REQUESTED_ACTION_ARREST: "arrest",
  REQUESTED_ACTION_INFORM_OWNER: "inform_owner",
};

function line(notification: StoredNotification): string {
  const hits = notification.hits.map((hit) => `${hit.reference} score ${hit.score.toFixed(2)} ${ACTION_LABELS[hit.action] ?? hit.action}`).join("; ");
  const where = notification.requesterLocation || "-";
  return `${notification.queriedAt}  ${notification.requestingCountry}/${notification.requestingAgency} at ${where}  ${hits}`;
}

export function registerNotificationCommands(program: Command): void {
  const notifications = program.command("notifications").description("hit notifications received by this country's node");
  notifications
    .command("list")
    .description("list the notifications in a node's inbox, oldest first (who asked, where, when, which record)")
    .requiredOption("--data <dir>", "the node's LMDB directory")
    .option("--json", "one JSON object per notification (a documented contract)")
    .action(async (flags: { data: string; json?: boolean }) => {
      await using inbox = new InboxStore(flags.data);
      const list = inbox.list();
      if (flags.json) {
        for (const notification of list) process.stdout.write(JSON.stringify(notification) + "\n");
        return;
      }
      if (list.length === 0) process.stdout.write("no hit notifications\n");
      for (const notification of list) process.stdout.write(line(notification) + "\n");
    });
}
