import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, startCli } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Runs `command` until `done(result)` holds or `timeoutMs` passes: the owner's node consumes in another
 * process, so the test can only observe its store.
 */
async function until<T>(command: () => Promise<T>, done: (result: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await command();
    if (done(result) || Date.now() > deadline) return result;
  }
}

describe("watchmesh followup and notifications (two processes, real NATS with JetStream)", () => {
  it("requests details of a hit, lets the owner list and approve it, and reads the sealed reply", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const meshDir = path.join(dir.path, "mesh");
    const up = await startCli(["up", "--dir", meshDir, "--countries", "2", "--persons", "50", "--entities", "20"], /mesh up:/, { timeoutMs: 60_000 });
    cleanups.push(() => up.stop());
    const natsUrl = (JSON.parse(await readFile(path.join(meshDir, "mesh.json"), "utf8")) as { natsUrl: string }).natsUrl;
    const borderKey = path.join(meshDir, "keys", (await readdir(path.join(meshDir, "keys"))).find((name) => name.endsWith("-border.key")) ?? "");
    const trust = ["--registry", path.join(meshDir, "registry.json"), "--root-key", path.join(meshDir, "root.pub.json"), "--nats", natsUrl];
    const deuData = path.join(meshDir, "nodes", "DEU");

    const records = path.join(dir.path, "extra.ndjson");
    await writeFile(records, JSON.stringify({ kind: "person", id: "DEU-X-9", names: ["Jan Kowalski"], dob: "1970-02-03", action: "specific_check" }) + "\n");
    expect((await runCli(["node", "import", "--data", deuData, "--file", records, "--json"])).code).toBe(0);
    const check = JSON.parse((await runCli(["check", "--mesh", meshDir, "--name", "Jan Kowalski", "--dob", "1970-02-03", "--location", "POST-9", "--json"])).stdout) as {
      queryId: string;
      results: { country: string; hits: { reference: string }[] }[];
    };
    const reference = check.results.find((result) => result.country === "DEU")?.hits[0]?.reference ?? "";
    expect(reference).toMatch(/^DEU-R-/);

    // The owner's inbox got the hit notification.
    const notifications = await until(
      () => runCli(["notifications", "list", "--data", deuData, "--json"]),
      (result) => result.stdout.includes(check.queryId),
    );
    expect(JSON.parse(notifications.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ queryId: check.queryId, requesterLocation: "POST-9" });

    const requested = await runCli(["followup", "request", reference, "--query-id", check.queryId, "--justification", "case 77", "--key", borderKey, "--nats", natsUrl]);
    expect(requested.code).toBe(0);
    const requestId = /follow-up request ([0-9a-f-]{36}) sent to DEU/.exec(requested.stdout)?.[1] ?? "";
    expect(requestId).not.toBe("");

    const listed = await until(
      () => runCli(["followup", "list", "--data", deuData, "--json"]),
      (result) => result.stdout.includes(requestId),
    );
    expect(JSON.parse(listed.stdout.trim()) as object).toMatchObject({ requestId, reference, justification: "case 77", status: "pending", overdue: false });

    const approved = await runCli(["followup", "approve", requestId, "--data", deuData, "--key", path.join(meshDir, "keys", "DEU-node.key"), ...trust]);
    expect(approved.code, approved.stderr).toBe(0);
    const replies = await runCli(["followup", "replies", "--key", borderKey, ...trust, "--json"]);
    expect(replies.code, replies.stderr).toBe(0);
    expect(JSON.parse(replies.stdout.trim()) as object).toMatchObject({
      reply: { requestId, reference, ownerCountry: "DEU", decision: "FOLLOWUP_DECISION_APPROVED" },
      details: { id: "DEU-X-9", names: ["Jan Kowalski"], dob: "1970-02-03" },
    });
    expect(await up.stop()).toBe(0);
  }, 120_000);
});
