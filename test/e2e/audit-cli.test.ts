import { writeFile } from "node:fs/promises";
import path from "node:path";
import { open } from "lmdb";
import { afterEach, describe, expect, it } from "vitest";
import { publicPart, writePublicKeyFile } from "../../common/key-files.ts";
import { silentLogger } from "../../common/logger.ts";
import { Purpose } from "../../common/proto.ts";
import { AuditLog, auditPath, seqKey, type AuditEntry, type AuditVerification } from "../../node/audit-log.ts";
import { runCli } from "../helpers/cli.ts";
import { makeTrust } from "../helpers/identities.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("watchmesh audit verify", () => {
  it("exits 0 on an intact log and 4 naming the first altered entry once one was changed", async () => {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    const trust = await makeTrust(["NLD"]);
    const identity = trust.nodes.get("NLD");
    if (!identity) throw new Error("missing NLD identity");
    const registryFile = path.join(dir.path, "registry.json");
    const rootKeyFile = path.join(dir.path, "root.pub.json");
    await writeFile(registryFile, trust.registryText);
    await writePublicKeyFile(rootKeyFile, publicPart(trust.root));
    const nodeDir = path.join(dir.path, "node");

    const log = await AuditLog.open({ dataDir: nodeDir, identity, logger: silentLogger(), sealEvery: 10 });
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        log.append({ atMs: Date.now(), queryId: `q-${i + 1}`, requesterCountry: "FRA", requesterAgency: "border-police", purpose: Purpose.BorderCheck, status: "no_hit", errorCode: "", hitReferences: [], queryDigest: "ab".repeat(32) }),
      ),
    );
    await log.close();
    const args = ["audit", "verify", "--node", nodeDir, "--registry", registryFile, "--root-key", rootKeyFile];

    const intact = await runCli(args);
    expect(intact.stderr).toBe("");
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/audit log verified: 25 entries, 3 seals/);

    const root = open({ path: auditPath(nodeDir), noSubdir: false });
    const entries = root.openDB<AuditEntry, string>("entries", { encoding: "json" });
    const entry = entries.get(seqKey(17));
    if (!entry) throw new Error("entry 17 missing");
    await entries.put(seqKey(17), { ...entry, requesterCountry: "DEU" });
    await root.close();

    const altered = await runCli(args);
    expect(altered.code).toBe(4);
    expect(altered.stdout).toMatch(/first problem at seq 17 \(altered\)/);

    const json = await runCli([...args, "--json", "--country", "NLD"]);
    expect(json.code).toBe(4);
    expect((JSON.parse(json.stdout) as AuditVerification).firstProblem).toMatchObject({ seq: 17, kind: "altered" });
  });
});
