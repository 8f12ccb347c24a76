import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { publicPart, writePrivateKeyFile, writePublicKeyFile } from "../../common/key-files.ts";
import type { TestTrust } from "./identities.ts";

/** Where writeTrustFiles put a test trust's files, as the CLI's --key, --registry and --root-key take them. */
export interface TrustFiles {
  registry: string;
  rootKey: string;
  nodeKey(country: string): string;
  borderKey: string;
}

/**
 * Writes a test trust to `dir` as the command line reads it: the signed registry, the root public key,
 * each node's private key and the border system's private key (0600, through the product's own writer).
 */
export async function writeTrustFiles(trust: TestTrust, dir: string): Promise<TrustFiles> {
  await mkdir(dir, { recursive: true });
  const files: TrustFiles = {
    registry: path.join(dir, "registry.json"),
    rootKey: path.join(dir, "root.pub.json"),
    nodeKey: (country) => path.join(dir, `${country}-node.key`),
    borderKey: path.join(dir, "border.key"),
  };
  await writeFile(files.registry, trust.registryText);
  await writePublicKeyFile(files.rootKey, publicPart(trust.root));
  for (const [country, identity] of trust.nodes) await writePrivateKeyFile(files.nodeKey(country), identity);
  await writePrivateKeyFile(files.borderKey, trust.border);
  return files;
}
