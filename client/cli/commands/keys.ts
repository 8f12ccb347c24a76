import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import {
  createIdentity,
  MemberRole,
  publicPart,
  readPrivateKeyFile,
  readPublicKeyFile,
  writePrivateKeyFile,
  writePublicKeyFile,
} from "../../../common/key-files.ts";
import { memberFor, signRegistry, TrustRegistry } from "../../../common/registry.ts";
import { initSodium } from "../../../common/sodium.ts";
import { isCountryCode } from "../../../common/country-codes.ts";
import { initMesh } from "../mesh-layout.ts";
import { parseCountryList, parsePositiveInt } from "./options.ts";

const ROLES = Object.values(MemberRole) as string[];

function publicFileFor(privateFile: string): string {
  return privateFile.replace(/\.key$/, "") + ".pub.json";
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command("keys").description("Ed25519 signing keys");
  keys
    .command("create")
    .description("create a key pair: <out> (private, mode 0600) and <out without .key>.pub.json (public)")
    .requiredOption("--role <role>", `one of ${ROLES.join(", ")}`)
    .option("--country <ISO3>", "member country (not for root)", "")
    .option("--agency <name>", "member agency", "")
    .requiredOption("--out <file.key>", "private key file to create (never overwritten)")
    .action(async (flags: { role: string; country: string; agency: string; out: string }) => {
      if (!ROLES.includes(flags.role)) throw new WatchmeshError(ErrorCode.InvalidArgument, `--role must be one of ${ROLES.join(", ")}`);
      const role = flags.role as MemberRole;
      if (role !== MemberRole.Root && (!isCountryCode(flags.country) || !flags.agency)) {
        throw new WatchmeshError(ErrorCode.InvalidArgument, "--country (ISO 3166-1 alpha-3) and --agency are required for members");
      }
      await initSodium();
      const identity = createIdentity(role, role === MemberRole.Root ? "" : flags.country, flags.agency || "registry-root");
      await writePrivateKeyFile(flags.out, identity).catch((error: unknown) => {
        throw new WatchmeshError(ErrorCode.InvalidArgument, `cannot create ${flags.out} (it may already exist)`, { cause: error });
      });
      await writePublicKeyFile(publicFileFor(flags.out), publicPart(identity));
      process.stdout.write(`${identity.keyId}\n`);
    });

  const registry = program.command("registry").description("the signed trust registry");
  registry
    .command("create")
    .description("sign a registry listing the given public key files as members")
    .requiredOption("--root-key <file>", "root private key file")
    .requiredOption("--out <file>", "registry file to write")
    .option("--version <n>", "registry version (increase it for every new registry)", parsePositiveInt, 1)
    .argument("<public-keys...>", "members' .pub.json files")
    .action(async (publicKeys: string[], flags: { rootKey: string; out: string; version: number }) => {
      await initSodium();
      const root = await readPrivateKeyFile(flags.rootKey);
      if (root.role !== MemberRole.Root) throw new WatchmeshError(ErrorCode.InvalidArgument, "--root-key must be a root key");
      const members = [];
      for (const file of publicKeys) members.push(memberFor(await readPublicKeyFile(file)));
      const text = signRegistry({ format: "watchmesh-registry/v1", version: flags.version, issuedAt: new Date().toISOString(), members }, root);
      await writeFile(flags.out, text);
      process.stdout.write(`registry v${flags.version} with ${members.length} members written to ${flags.out}\n`);
    });
  registry
    .command("verify")
    .description("verify a registry's root signature and list its members")
    .requiredOption("--registry <file>", "signed trust registry")
    .requiredOption("--root-key <file>", "root public key file")
    .option("--json", "print the verified registry document")
    .action(async (flags: { registry: string; rootKey: string; json?: boolean }) => {
      await initSodium();
      const verified = await TrustRegistry.load(flags.registry, await readPublicKeyFile(flags.rootKey));
      if (flags.json) {
        process.stdout.write(JSON.stringify(verified.document) + "\n");
        return;
      }
      process.stdout.write(`registry v${verified.version} verified; ${verified.document.members.length} members\n`);
      for (const member of verified.document.members) {
        process.stdout.write(`  ${member.country} ${member.role.padEnd(11)} ${member.agency} (${member.keys.map((key) => key.keyId).join(", ")})\n`);
      }
    });

  program
    .command("mesh")
    .description("local mesh directories")
    .command("init")
    .description("create root, node and border keys and a signed registry in a new directory")
    .requiredOption("--dir <dir>", "directory to create")
    .option("--countries <list>", "comma-separated ISO3 codes of the node countries", parseCountryList, ["FRA", "DEU", "ESP"])
    .option("--border-country <ISO3>", "country of the border system key", "FRA")
    .action(async (flags: { dir: string; countries: string[]; borderCountry: string }) => {
      const layout = await initMesh({ dir: flags.dir, countries: flags.countries, borderCountry: flags.borderCountry });
      process.stdout.write(`mesh keys and registry created in ${layout.dir}\n`);
    });
}
