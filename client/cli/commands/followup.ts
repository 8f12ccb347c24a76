/**
 * `watchmesh followup …`: step two after a hit. The requester asks (`request`) and reads the answers
 * (`replies`); the owner's operator lists requests with their age (`list`) and decides (`approve`,
 * `reject`). Requests and replies travel durably through JetStream, signed; approved details are
 * sealed to the requester's key.
 */
import type { Command } from "commander";
import { collectFollowupReplies, requestFollowup } from "../../followup-client.ts";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { DEFAULT_FOLLOWUP_DEADLINE_MS } from "../../../common/followup.ts";
import { readPublicKeyFile } from "../../../common/key-files.ts";
import { connectNats } from "../../../common/nats-connection.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { decideFollowup, FollowupStore, RecordStore, type FollowupWithAge } from "../../../node/index.ts";
import { loadIdentity } from "../mesh-layout.ts";
import { addNatsOptions, natsAuthFromFlags, type NatsFlags } from "./nats-options.ts";
import type { CliRuntime } from "./runtime.ts";

interface SignerFlags extends NatsFlags {
  key: string;
}

interface RegistryFlags extends SignerFlags {
  registry: string;
  rootKey: string;
}

async function withNats<T>(flags: NatsFlags, runtime: CliRuntime, name: string, run: (connection: Awaited<ReturnType<typeof connectNats>>) => Promise<T>): Promise<T> {
  const servers = flags.nats ?? runtime.natsUrl;
  if (!servers) throw new WatchmeshError(ErrorCode.ConfigInvalid, "no NATS server: pass --nats or set NATS_URL");
  const auth = await natsAuthFromFlags(flags);
  const connection = await connectNats({ servers: servers.split(","), name, ...(auth ? { auth } : {}) });
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}

const hours = (ms: number): string => `${(ms / 3_600_000).toFixed(1)} h`;

function listLine(request: FollowupWithAge, deadlineMs: number): string {
  const age = request.status === "pending" ? `age ${hours(request.ageMs)} of ${hours(deadlineMs)}${request.overdue ? " OVERDUE" : ""}` : `${request.status} ${request.decidedAt ?? ""}`;
  return `${request.requestId}  ${request.reference}  from ${request.requestingCountry}/${request.requestingAgency}  ${age}\n    justification: ${request.justification}`;
}

export function registerFollowupCommands(program: Command, runtime: CliRuntime): void {
  const followup = program.command("followup").description("step two after a hit: ask the owner for details, and answer such requests");

  addNatsOptions(
    followup
      .command("request")
      .description("ask the owner of a hit reference for the record's details (owner: the reference's country)")
      .argument("<reference>", "the hit reference, e.g. DEU-R-…")
      .requiredOption("--key <file>", "the requester's private key file (border system or node)")
      .requiredOption("--query-id <id>", "the query that produced the hit")
      .requiredOption("--justification <text>", "why the details are needed (legal basis, case number)"),
  ).action(async (reference: string, flags: SignerFlags & { queryId: string; justification: string }) => {
    const identity = await loadIdentity(flags.key);
    const request = await withNats(flags, runtime, "watchmesh-followup", (connection) =>
      requestFollowup({ connection, identity, reference, queryId: flags.queryId, justification: flags.justification }),
    );
    process.stdout.write(`follow-up request ${request.requestId} sent to ${request.ownerCountry}\n`);
  });

  followup
    .command("list")
    .description("the owner's received follow-up requests, oldest first, with their age against the deadline")
    .requiredOption("--data <dir>", "the node's LMDB directory")
    .option("--deadline-hours <hours>", "answering deadline (Prüm II: 48)", String(DEFAULT_FOLLOWUP_DEADLINE_MS / 3_600_000))
    .option("--json", "one JSON object per request (a documented contract)")
    .action(async (flags: { data: string; deadlineHours: string; json?: boolean }) => {
      const deadlineMs = Number(flags.deadlineHours) * 3_600_000;
      if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) throw new WatchmeshError(ErrorCode.InvalidArgument, "--deadline-hours must be a positive number");
      await using store = new FollowupStore(flags.data);
      const requests = store.list(Date.now(), deadlineMs);
      if (flags.json) for (const request of requests) process.stdout.write(JSON.stringify(request) + "\n");
      else process.stdout.write(requests.length === 0 ? "no follow-up requests\n" : requests.map((r) => listLine(r, deadlineMs)).join("\n") + "\n");
    });

  for (const decision of ["approve", "reject"] as const) {
    const command = followup
      .command(decision)
      .description(decision === "approve" ? "send the record's details, sealed to the requester's key" : "refuse the request, with a reason for the requester")
      .argument("<request-id>", "as `followup list` shows it")
      .requiredOption("--data <dir>", "the node's LMDB directory")
      .requiredOption("--key <file>", "the node's private key file (signs the reply)")
      .requiredOption("--registry <file>", "signed trust registry")
      .requiredOption("--root-key <file>", "registry root public key file");
    if (decision === "reject") command.requiredOption("--reason <text>", "shown to the requester; no personal data");
    addNatsOptions(command).action(async (requestId: string, flags: RegistryFlags & { data: string; reason?: string }) => {
      const identity = await loadIdentity(flags.key);
      const registry = await TrustRegistry.load(flags.registry, await readPublicKeyFile(flags.rootKey));
      await using followups = new FollowupStore(flags.data);
      const records = await RecordStore.open({ path: flags.data });
      try {
        await withNats(flags, runtime, "watchmesh-followup", (connection) =>
          decideFollowup({ requestId, decision, ...(flags.reason ? { reason: flags.reason } : {}), followups, records, identity, registry, connection }),
        );
      } finally {
        await records.close();
      }
      process.stdout.write(`follow-up request ${requestId} ${decision === "approve" ? "approved; details sent sealed" : "rejected"}\n`);
    });
  }

  addNatsOptions(
    followup
      .command("replies")
      .description("the owners' replies to this country's requests; approved details are opened with --key")
      .requiredOption("--key <file>", "the requester's private key file")
      .requiredOption("--registry <file>", "signed trust registry")
      .requiredOption("--root-key <file>", "registry root public key file")
      .option("--json", "one JSON object per reply: {reply, details?} (a documented contract)"),
  ).action(async (flags: RegistryFlags & { json?: boolean }) => {
    const identity = await loadIdentity(flags.key);
    const registry = await TrustRegistry.load(flags.registry, await readPublicKeyFile(flags.rootKey));
    const replies = await withNats(flags, runtime, "watchmesh-followup", (connection) => collectFollowupReplies({ connection, identity, registry }));
    for (const { reply, details } of replies) {
      if (flags.json) {
        const { sealedDetails: _sealed, ...rest } = reply;
        process.stdout.write(JSON.stringify({ reply: rest, ...(details === undefined ? {} : { details }) }) + "\n");
      } else {
        const outcome = details === undefined ? `${reply.decision}${reply.reason ? `: ${reply.reason}` : ""}` : `approved: ${JSON.stringify(details)}`;
        process.stdout.write(`${reply.requestId}  ${reply.reference}  from ${reply.ownerCountry}  ${outcome}\n`);
      }
    }
    if (replies.length === 0) process.stdout.write(flags.json ? "" : "no follow-up replies\n");
  });
}
