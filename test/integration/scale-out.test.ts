import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../common/logger.ts";
import { BorderClient } from "../../client/border-client.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { CountryNode } from "../../node/index.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const person = { kind: "person" as const, id: "SWE-P-1", names: ["Lars Andersson"], dob: "1979-09-09", action: "specific_check" as const };

let mesh: TestMesh;
let replica: CountryNode;
let secondCoordinator: Coordinator;
let secondClient: BorderClient;
let removeReplicaDir: () => Promise<void>;

beforeAll(async () => {
  mesh = await startTestMesh({ countries: ["SWE", "NOR"], records: { SWE: [person] } });
  // A second replica of the Swedish node with its own copy of the data, in the same queue group.
  const dir = await makeTempDir();
  removeReplicaDir = dir.remove;
  const identity = mesh.trust.nodes.get("SWE");
  if (!identity) throw new Error("missing identity");
  replica = await CountryNode.start({ identity, registry: mesh.trust.registry, dataDir: dir.path, natsServers: mesh.nats.url, logger: silentLogger() });
  await replica.store.upsert(person);
  secondCoordinator = await Coordinator.start({ registry: mesh.trust.registry, natsServers: mesh.nats.url, grpcAddress: "127.0.0.1:0", logger: silentLogger() });
  secondClient = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${secondCoordinator.grpcPort}`, identity: mesh.trust.border, registry: mesh.trust.registry });
});
afterAll(async () => {
  secondClient?.close();
  await secondCoordinator?.stop();
  await replica?.stop();
  await removeReplicaDir?.();
  await mesh?.stop();
});

describe("replicas and several coordinators", () => {
  it("exactly one replica of a country answers each query", async () => {
    const primary = mesh.nodes.get("SWE");
    if (!primary) throw new Error("missing node");
    const before = primary.queriesAnswered + replica.queriesAnswered;
    const checks = 20;
    for (let i = 0; i < checks; i++) {
      const result = await mesh.client.check({ person: { names: ["Lars Andersson"], dob: "1979-09-09" } });
      expect(result.results.find((r) => r.country === "SWE")?.status).toBe("hit");
    }
    expect(primary.queriesAnswered + replica.queriesAnswered - before).toBe(checks);
  });

  it("two coordinators on the same NATS serve concurrent checks, each getting only its own answers", async () => {
    const traveller = { person: { names: ["Lars Andersson"], dob: "1979-09-09" } };
    const stranger = { person: { names: ["Kari Nordmann"], dob: "1985-05-17" } };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? mesh.client.check(traveller) : secondClient.check(stranger))),
    );
    results.forEach((result, i) => {
      expect(result.results.find((r) => r.country === "SWE")?.status).toBe(i % 2 === 0 ? "hit" : "no_hit");
      expect(result.results.find((r) => r.country === "NOR")?.status).toBe("no_hit");
    });
  });
});
