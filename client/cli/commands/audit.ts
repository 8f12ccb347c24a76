import type { Command } from "commander";
import { readPublicKeyFile } from "../../../common/key-files.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { initSodium } from "../../../common/sodium.ts";
import { DEFAULT_SEAL_EVERY, readAuditSnapshot, verifyAuditLog, type AuditVerification, type VerifyAuditOptions } from "../../../node/index.ts";
import { parsePositiveInt } from "./options.ts";

/** Exit code when the log does not verify (0 when it does). */
export const AUDIT_PROBLEM_EXIT_CODE = 4;

function summary(result: AuditVerification): string {
  const from = result.checkpointSeq === undefined ? "" : ` after purge checkpoint ${result.checkpointSeq}`;
  if (result.firstProblem) {
    const { seq, kind, message } = result.firstProblem;
    return `audit log NOT verified: first problem at seq ${seq} (${kind}): ${message}`;
  }
  const tail = result.warning ? `; warning: ${result.warning.message}` : "";
  return `audit log verified: ${result.entries} entries, ${result.seals} seals${from}${tail}`;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("a country node's tamper-evident audit log of answered queries");
  audit
    .command("verify")
    .description(`check the hash chain and the signed seals of a node's audit log; exit ${AUDIT_PROBLEM_EXIT_CODE} at the first altered, missing or reordered entry or bad seal`)
    .requiredOption("--node <dir>", "the node's data directory (its audit log is <dir>/audit)")
    .requiredOption("--registry <file>", "signed trust registry (to check the seals' keys)")
    .requiredOption("--root-key <file>", "registry root public key file")
    .option("--country <code>", "the node's country: seals by any other country's key are rejected")
    .option("--seal-every <n>", "the node's sealing interval: a longer unsealed tail fails instead of warning", parsePositiveInt, DEFAULT_SEAL_EVERY)
    .option("--json", "print the verification result as one JSON object")
    .action(async (flags: { node: string; registry: string; rootKey: string; country?: string; sealEvery: number; json?: boolean }) => {
      await initSodium();
      const registry = await TrustRegistry.load(flags.registry, await readPublicKeyFile(flags.rootKey));
      const snapshot = await readAuditSnapshot(flags.node);
      const options: VerifyAuditOptions = { sealEvery: flags.sealEvery, ...(flags.country === undefined ? {} : { expectedCountry: flags.country.toUpperCase() }) };
      const result = verifyAuditLog(snapshot, registry, options);
      process.stdout.write((flags.json ? JSON.stringify(result) : summary(result)) + "\n");
      if (!result.ok) process.exitCode = AUDIT_PROBLEM_EXIT_CODE;
    });
}
