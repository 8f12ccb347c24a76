import { beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { createIdentity, MemberRole, publicPart } from "../../common/key-files.ts";
import { TrustRegistry } from "../../common/registry.ts";
import { initSodium } from "../../common/sodium.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";

let trust: TestTrust;
beforeAll(async () => {
  await initSodium();
  trust = await makeTrust(["DEU", "ESP", "TUR"]);
});

function registryError(text: string, root = publicPart(trust.root)): WatchmeshError {
  try {
    TrustRegistry.fromSignedText(text, root);
  } catch (error) {
    if (error instanceof WatchmeshError) return error;
    throw error;
  }
  throw new Error("registry was accepted");
}

describe("trust registry", () => {
  it("loads a root-signed registry and lists node countries", () => {
    const registry = TrustRegistry.fromSignedText(trust.registryText, publicPart(trust.root));
    expect(registry.nodeCountries()).toEqual(["DEU", "ESP", "TUR"]);
    expect(registry.resolveSigner(trust.border.keyId, Date.now(), ["border"]).country).toBe("FRA");
  });

  it("refuses a registry whose payload was altered (a key swapped in)", () => {
    const signed = JSON.parse(trust.registryText) as { payload: string };
    const intruder = createIdentity(MemberRole.Border, "FRA", "border-police");
    const document = JSON.parse(signed.payload) as { members: { keys: { publicKey: string }[] }[] };
    const firstKey = document.members[0]?.keys[0];
    if (!firstKey) throw new Error("no key");
    firstKey.publicKey = Buffer.from(intruder.publicKey).toString("base64");
    const tampered = JSON.stringify({ ...signed, payload: JSON.stringify(document, null, 2) });
    expect(registryError(tampered).code).toBe(ErrorCode.RegistryInvalid);
  });

  it("refuses an unsigned registry and one signed by another root", () => {
    const signed = JSON.parse(trust.registryText) as Record<string, string>;
    expect(registryError(JSON.stringify({ format: signed["format"], payload: signed["payload"] })).code).toBe(ErrorCode.RegistryInvalid);
    const otherRoot = createIdentity(MemberRole.Root, "", "root");
    expect(registryError(trust.registryText, publicPart(otherRoot)).message).toMatch(/not by the root key/);
  });

  it("refuses a registry that is not JSON", () => {
    expect(registryError("not json {").code).toBe(ErrorCode.RegistryInvalid);
  });

  it("enforces key validity periods, revocation and roles", async () => {
    const node = createIdentity(MemberRole.Node, "ITA", "node-agency");
    const revoked = createIdentity(MemberRole.Node, "GRC", "node-agency");
    const b64 = (key: Uint8Array) => Buffer.from(key).toString("base64");
    const custom = await makeTrust(["DEU"], "FRA", [
      { country: "ITA", agency: "node-agency", role: "node", keys: [{ keyId: node.keyId, publicKey: b64(node.publicKey), notBefore: "2026-01-01T00:00:00Z", notAfter: "2026-06-30T00:00:00Z" }] },
      { country: "GRC", agency: "node-agency", role: "node", keys: [{ keyId: revoked.keyId, publicKey: b64(revoked.publicKey), revoked: true }] },
    ]);
    const inside = Date.parse("2026-03-01T00:00:00Z");
    const after = Date.parse("2026-07-01T00:00:00Z");
    expect(custom.registry.resolveSigner(node.keyId, inside, ["node"]).country).toBe("ITA");
    expect(() => custom.registry.resolveSigner(node.keyId, after, ["node"])).toThrow(/validity/);
    expect(() => custom.registry.resolveSigner(revoked.keyId, inside, ["node"])).toThrow(/revoked/);
    expect(() => custom.registry.resolveSigner(node.keyId, inside, ["border"])).toThrow(/role/);
  });

  it("lists the valid node keys (of some countries) and coordinator keys a border system tags its queries for", async () => {
    const retired = createIdentity(MemberRole.Coordinator, "FRA", "coordinator");
    const b64 = (key: Uint8Array) => Buffer.from(key).toString("base64");
    const custom = await makeTrust(["DEU", "ESP"], "FRA", [
      { country: "FRA", agency: "coordinator", role: "coordinator", keys: [{ keyId: retired.keyId, publicKey: b64(retired.publicKey), revoked: true }] },
    ]);
    const now = Date.now();
    expect(custom.registry.coordinatorKeys(now).map((key) => key.keyId)).toEqual([custom.coordinator.keyId]);
    expect(custom.registry.nodeKeys(now).map((key) => key.country).sort()).toEqual(["DEU", "ESP"]);
    expect(custom.registry.nodeKeys(now, ["ESP"]).map((key) => key.keyId)).toEqual([custom.nodes.get("ESP")?.keyId]);
  });
});
