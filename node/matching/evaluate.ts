/**
 * Measures the matcher: imports labelled records into a fresh store, runs every probe through the real
 * matcher, and counts true/false positives and negatives. A hit on the expected record is a true
 * positive; any other hit is a false positive; a probe expecting a record that gets no hit on it is a
 * false negative.
 */
import { readFile } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { parseQueryJson } from "../../common/query-json.ts";
import { importNdjson, type ImportReport } from "../importer.ts";
import type { Matcher } from "../matcher.ts";
import { RecordStore } from "../store.ts";

const probeSchema = z.object({
  query: z.unknown(),
  expect: z.string().nullable(),
  /** Optional label of the variation the probe exercises, for per-variation figures. */
  variation: z.string().optional(),
});

export interface VariationFigures {
  probes: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  recall: number;
}

export interface EvaluationReport {
  records: number;
  probes: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  /** Probes the node refused (e.g. an MRZ with a bad check digit): counted as no hit. */
  refusedProbes: number;
  precision: number;
  recall: number;
  f1: number;
  byVariation: Record<string, VariationFigures>;
}

export interface EvaluationOptions {
  recordsPath: string;
  probesPath: string;
  /** Builds the matcher under test over the evaluation store. */
  createMatcher: (store: RecordStore) => Matcher | Promise<Matcher>;
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : Math.round((numerator / denominator) * 10_000) / 10_000;
}

export async function evaluateMatcher(options: EvaluationOptions): Promise<EvaluationReport> {
  let probesText: string;
  try {
    probesText = await readFile(options.probesPath, "utf8");
  } catch (error) {
    throw new WatchmeshError(ErrorCode.NotFound, `cannot read probes file ${options.probesPath}`, { cause: error });
  }
  const dir = await mkdtemp(path.join(tmpdir(), "watchmesh-eval-"));
  const store = await RecordStore.open({ path: dir });
  try {
    const imported: ImportReport = await importNdjson(store, { path: options.recordsPath });
    if (imported.rejected.length > 0) {
      const first = imported.rejected[0];
      throw new WatchmeshError(
        ErrorCode.InvalidRecord,
        `${imported.rejected.length} record lines rejected (first: line ${first?.line}: ${first?.message ?? ""})`,
      );
    }
    const matcher = await options.createMatcher(store);
    const totals = { truePositives: 0, falsePositives: 0, falseNegatives: 0, trueNegatives: 0, refusedProbes: 0, probes: 0 };
    const byVariation: Record<string, VariationFigures> = {};
    const lines = probesText.split("\n");
    for (const [index, line] of lines.entries()) {
      if (line.trim() === "") continue;
      let probe: z.infer<typeof probeSchema>;
      try {
        probe = probeSchema.parse(JSON.parse(line));
      } catch {
        throw new WatchmeshError(ErrorCode.InvalidArgument, `probes file line ${index + 1} is not {"query":{…},"expect":id|null}`);
      }
      const subject = parseQueryJson(probe.query);
      let hitIds: string[];
      try {
        const hits = "person" in subject ? matcher.matchPerson(subject.person) : matcher.matchEntity(subject.entity);
        hitIds = hits.map((hit) => hit.recordId);
      } catch (error) {
        if (!(error instanceof WatchmeshError)) throw error;
        totals.refusedProbes += 1;
        hitIds = [];
      }
      const found = probe.expect !== null && hitIds.includes(probe.expect);
      const falsePositives = hitIds.filter((id) => id !== probe.expect).length;
      const falseNegative = probe.expect !== null && !found ? 1 : 0;
      totals.probes += 1;
      totals.truePositives += found ? 1 : 0;
      totals.falsePositives += falsePositives;
      totals.falseNegatives += falseNegative;
      totals.trueNegatives += probe.expect === null && hitIds.length === 0 ? 1 : 0;
      const label = probe.variation ?? "unlabelled";
      const figures = (byVariation[label] ??= { probes: 0, truePositives: 0, falsePositives: 0, falseNegatives: 0, recall: 0 });
      figures.probes += 1;
      figures.truePositives += found ? 1 : 0;
      figures.falsePositives += falsePositives;
      figures.falseNegatives += falseNegative;
    }
    for (const figures of Object.values(byVariation)) {
      figures.recall = ratio(figures.truePositives, figures.truePositives + figures.falseNegatives);
    }
    const precision = ratio(totals.truePositives, totals.truePositives + totals.falsePositives);
    const recall = ratio(totals.truePositives, totals.truePositives + totals.falseNegatives);
    return {
      records: imported.inserted + imported.updated + imported.unchanged,
      ...totals,
      precision,
      recall,
      f1: ratio(2 * precision * recall, precision + recall),
      byVariation,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
