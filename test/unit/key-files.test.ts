import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { createIdentity, MemberRole, readPrivateKeyFile, writePrivateKeyFile } from "../../common/key-files.ts";
import { initSodium } from "../../common/sodium.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

let cleanup: (() => Promise<void>) | undefined;
beforeAll(async () => {
  await initSodium();
});
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe("private key files", () => {
  it("are written with mode 0600 and read back identically", async () => {
    const dir = await makeTempDir();
    cleanup = dir.remove;
    const file = path.join(dir.path, "node.key");
    const identity = createIdentity(MemberRole.Node, "DEU", "bka");
    await writePrivateKeyFile(file, identity);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const loaded = await readPrivateKeyFile(file);
    expect(loaded.keyId).toBe(identity.keyId);
    expect(Buffer.from(loaded.secretKey).equals(Buffer.from(identity.secretKey))).toBe(true);
  });

  it("are never overwritten", async () => {
    const dir = await makeTempDir();
    cleanup = dir.remove;
    const file = path.join(dir.path, "node.key");
    await writePrivateKeyFile(file, createIdentity(MemberRole.Node, "DEU", "bka"));
    const before = await readFile(file, "utf8");
    await expect(writePrivateKeyFile(file, createIdentity(MemberRole.Node, "DEU", "bka"))).rejects.toThrow();
    expect(await readFile(file, "utf8")).toBe(before);
  });

  it("are refused when readable by others, or malformed", async () => {
    const dir = await makeTempDir();
    cleanup = dir.remove;
    const file = path.join(dir.path, "node.key");
    await writePrivateKeyFile(file, createIdentity(MemberRole.Node, "DEU", "bka"));
    await chmod(file, 0o644);
    await expect(readPrivateKeyFile(file)).rejects.toMatchObject({ code: ErrorCode.KeyFileInvalid, message: expect.stringMatching(/chmod 600/) });
    const bad = path.join(dir.path, "bad.key");
    await writeFile(bad, "{}", { mode: 0o600 });
    await expect(readPrivateKeyFile(bad)).rejects.toMatchObject({ code: ErrorCode.KeyFileInvalid });
    await expect(readPrivateKeyFile(path.join(dir.path, "missing.key"))).rejects.toMatchObject({ code: ErrorCode.KeyFileInvalid });
  });
});
