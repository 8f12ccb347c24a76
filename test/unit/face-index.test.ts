import { gaussianVector, withNoise } from "../helpers/vectors.ts";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { DEFAULT_FACE_MODELS } from "../../node/matching/biometric-schema.ts";
import { FaceIndex, parseFaceTemplate, resolveFaceModels, type FaceModelOverrides, type FaceTemplate } from "../../node/matching/face-index.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const MODEL = "arcface-r100-v1";
const DIMENSIONS = 512;

let dir: { path: string; remove: () => Promise<void> };
let opened: FaceIndex[];

beforeEach(async () => {
  dir = await makeTempDir("wm-face-");
  opened = [];
});
afterEach(async () => {
  await Promise.all(opened.map((index) => index.close()));
  await dir.remove();
});

async function openIndex(options: Partial<Parameters<typeof FaceIndex.open>[0]> = {}): Promise<FaceIndex> {
  const index = await FaceIndex.open({ dir: dir.path, ...options });
  opened.push(index);
  return index;
}


const randomVector = (seed: number, dimensions = DIMENSIONS): number[] => gaussianVector(seed, dimensions);
const noisy = withNoise;

function template(vector: number[], model = MODEL): FaceTemplate {
  return parseFaceTemplate({ model, vector });
}

function parseError(input: unknown): WatchmeshError {
  try {
    parseFaceTemplate(input);
  } catch (error) {
    if (error instanceof WatchmeshError) return error;
    throw error;
  }
  throw new Error("expected parseFaceTemplate to throw");
}

describe("parseFaceTemplate", () => {
  it("returns a unit-length float32 vector", () => {
    const parsed = template(randomVector(1).map((x) => x * 7));
    expect(parsed.model).toBe(MODEL);
    expect(parsed.vector).toBeInstanceOf(Float32Array);
    expect(Math.hypot(...parsed.vector)).toBeCloseTo(1, 5);
  });

  it("rejects an unknown model, naming the field", () => {
    const error = parseError({ model: "no-such-model", vector: randomVector(1) });
    expect(error.code).toBe(ErrorCode.InvalidRecord);
    expect(error.message).toContain('"face.model"');
    expect(error.message).toContain("unknown face model");
    expect(error.message).not.toContain("no-such-model");
  });

  it("rejects a wrong dimension", () => {
    const error = parseError({ model: MODEL, vector: randomVector(1, 128) });
    expect(error.message).toMatch(/"face\.vector".*exactly 512.*has 128/);
  });

  it("rejects non-finite, out-of-float32-range, non-number and zero vectors without echoing values", () => {
    const vector = randomVector(1);
    expect(parseError({ model: MODEL, vector: vector.map((x, i) => (i === 3 ? Number.NaN : x)) }).message).toContain('"face.vector.3"');
    expect(parseError({ model: MODEL, vector: vector.map((x, i) => (i === 3 ? 1e300 : x)) }).message).toContain("finite 32-bit");
    expect(parseError({ model: MODEL, vector: vector.map((x, i) => (i === 3 ? "0.5" : x)) }).code).toBe(ErrorCode.InvalidRecord);
    expect(parseError({ model: MODEL, vector: new Array<number>(DIMENSIONS).fill(0) }).message).toContain("zero vector");
    expect(parseError({ model: MODEL, vector: new Array<number>(DIMENSIONS).fill(1e-46) }).message).toContain("zero vector");
    const error = parseError({ model: MODEL, vector: vector.map((x, i) => (i === 3 ? 123456.789 : x)), extra: 1 });
    expect(error.message).not.toContain("123456");
  });

  it("uses the caller's field name and registry", () => {
    expect(() => parseFaceTemplate({ model: MODEL, vector: [1, 2] }, "query.face")).toThrow(/"query\.face\.vector"/);
    const models = resolveFaceModels({ "tiny-4": { dimensions: 4, threshold: 0.9 } });
    expect(parseFaceTemplate({ model: "tiny-4", vector: [1, 2, 3, 4] }, "face", models).vector).toHaveLength(4);
    expect(() => parseFaceTemplate({ model: "tiny-4", vector: [1, 2, 3, 4] })).toThrow(/unknown face model/);
  });
});

describe("resolveFaceModels", () => {
  it("overrides a threshold and adds models", () => {
    const models = resolveFaceModels({ [MODEL]: { threshold: 0.6 }, "other-128": { dimensions: 128, threshold: 0.5 } });
    expect(models[MODEL]).toEqual({ dimensions: 512, threshold: 0.6 });
    expect(models["other-128"]).toEqual({ dimensions: 128, threshold: 0.5 });
    expect(DEFAULT_FACE_MODELS[MODEL]?.threshold).not.toBe(0.6);
  });

  it("rejects bad overrides with ConfigInvalid", () => {
    const cases: FaceModelOverrides[] = [
      { [MODEL]: { dimensions: 256 } },
      { [MODEL]: { threshold: 0 } },
      { [MODEL]: { threshold: 1.5 } },
      { "new-model": { threshold: 0.5 } },
      { "Bad/Name": { dimensions: 4, threshold: 0.5 } },
    ];
    for (const overrides of cases) {
      expect(() => resolveFaceModels(overrides)).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
    }
  });
});

describe("FaceIndex", () => {
  it("adds, searches above the threshold, and removes", async () => {
    const index = await openIndex();
    const people = [1, 2, 3, 4, 5].map((seed) => randomVector(seed));
    people.forEach((vector, i) => index.add(BigInt(i + 100), template(vector)));
    expect(index.size()).toBe(5);
    const probe = template(noisy(people[2] ?? [], 99, 0.5));
    const hits = index.search(probe, 3);
    expect(hits.map((hit) => hit.key)).toEqual([102n]);
    expect(hits[0]?.similarity).toBeGreaterThan(0.8);
    // A stranger hits nobody.
    expect(index.search(template(randomVector(1000)), 5)).toEqual([]);
    expect(index.remove(102)).toBe(true);
    expect(index.remove(102)).toBe(false);
    expect(index.search(probe, 3)).toEqual([]);
    expect(index.size()).toBe(4);
  });

  it("returns every record above the threshold, most similar first", async () => {
    const index = await openIndex();
    const person = randomVector(7);
    index.add(1, template(noisy(person, 1, 0.3)));
    index.add(2, template(noisy(person, 2, 0.6)));
    index.add(3, template(randomVector(8)));
    const hits = index.search(template(person), 10);
    expect(hits.map((hit) => hit.key)).toEqual([1n, 2n]);
    expect(hits[0]?.similarity).toBeGreaterThan(hits[1]?.similarity ?? 1);
  });

  it("re-adding a key replaces its template, also across models", async () => {
    const index = await openIndex({ models: { "small-8": { dimensions: 8, threshold: 0.9 } } });
    const first = randomVector(1);
    const second = randomVector(2);
    index.add(5n, template(first));
    index.add(5n, template(second));
    expect(index.size(MODEL)).toBe(1);
    expect(index.search(template(first), 5)).toEqual([]);
    expect(index.search(template(second), 5).map((hit) => hit.key)).toEqual([5n]);
    index.add(5n, index.parse({ model: "small-8", vector: [1, 2, 3, 4, 5, 6, 7, 8] }));
    expect(index.size(MODEL)).toBe(0);
    expect(index.size("small-8")).toBe(1);
  });

  it("applies each model's threshold", async () => {
    const person = randomVector(3);
    const enrolled = template(noisy(person, 1, 0.8));
    const probe = template(noisy(person, 2, 0.8));
    let similarity = 0;
    enrolled.vector.forEach((x, i) => (similarity += x * (probe.vector[i] ?? 0)));
    expect(similarity).toBeGreaterThan(0.3);
    expect(similarity).toBeLessThan(0.95);

    const loose = await FaceIndex.open({ dir: path.join(dir.path, "loose"), models: { [MODEL]: { threshold: similarity - 0.01 } } });
    const strict = await FaceIndex.open({ dir: path.join(dir.path, "strict"), models: { [MODEL]: { threshold: similarity + 0.01 } } });
    opened.push(loose, strict);
    loose.add(1, enrolled);
    strict.add(1, enrolled);
    expect(loose.search(probe, 1)).toHaveLength(1);
    expect(loose.search(probe, 1)[0]?.similarity).toBeCloseTo(similarity, 4);
    expect(strict.search(probe, 1)).toEqual([]);
  });

  it("rejects templates of unknown models or the wrong dimension, and bad keys", async () => {
    const index = await openIndex();
    const good = template(randomVector(1));
    expect(() => index.add(1, { model: "facenet-128", vector: good.vector })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => index.add(1, { model: MODEL, vector: good.vector.subarray(0, 128) })).toThrow(/512 dimensions/);
    expect(() => index.search({ model: MODEL, vector: good.vector.subarray(0, 128) }, 1)).toThrow(/512 dimensions/);
    expect(() => index.add(-1, good)).toThrow(/record key/);
    expect(() => index.add(1.5, good)).toThrow(/record key/);
    expect(() => index.add(2n ** 64n - 1n, good)).toThrow(/record key/);
    expect(() => index.search(good, 0)).toThrow(/k must be/);
    expect(index.size()).toBe(0);
  });

  it("persists on flush and close, and reopens with the same content", async () => {
    const index = await openIndex();
    const people = [1, 2, 3].map((seed) => randomVector(seed));
    people.forEach((vector, i) => index.add(i + 1, template(vector)));
    await index.flush();
    expect(readdirSync(dir.path).sort()).toEqual([`face-${MODEL}.usearch`]);
    index.add(4, template(randomVector(4)));
    expect(existsSync(path.join(dir.path, "face-index.dirty"))).toBe(true);
    await index.close();
    await index.close(); // idempotent
    expect(() => index.search(template(people[0] ?? []), 1)).toThrow(expect.objectContaining({ code: ErrorCode.Unavailable }));
    expect(existsSync(path.join(dir.path, "face-index.dirty"))).toBe(false);

    const reopened = await openIndex();
    expect(reopened.needsRebuild).toBe(false);
    expect(reopened.size()).toBe(4);
    expect(reopened.search(template(noisy(people[1] ?? [], 5, 0.4)), 2).map((hit) => hit.key)).toEqual([2n]);
    expect(reopened.remove(2)).toBe(true);
    await reopened.close();
    expect((await openIndex()).size()).toBe(3);
  });

  it("after a crash with unflushed changes, opens empty and asks for a rebuild until one completes", async () => {
    const index = await openIndex();
    index.add(1, template(randomVector(1)));
    await index.flush();
    index.add(2, template(randomVector(2))); // never flushed: the process "crashes" here
    opened = [];

    const afterCrash = await openIndex();
    expect(afterCrash.needsRebuild).toBe(true);
    expect(afterCrash.size()).toBe(0);
    await afterCrash.close();
    // Closing without a rebuild keeps the marker: the index is still known to be incomplete.
    const again = await openIndex();
    expect(again.needsRebuild).toBe(true);

    await again.rebuild([
      { key: 1, template: template(randomVector(1)) },
      { key: 2n, template: template(randomVector(2)) },
    ]);
    expect(again.needsRebuild).toBe(false);
    expect(existsSync(path.join(dir.path, "face-index.dirty"))).toBe(false);
    await again.close();
    const rebuilt = await openIndex();
    expect(rebuilt.needsRebuild).toBe(false);
    expect(rebuilt.size()).toBe(2);
  });

  it("rebuild replaces everything, last template per key wins, across models", async () => {
    const index = await openIndex({ models: { "small-8": { dimensions: 8, threshold: 0.9 } } });
    index.add(99, template(randomVector(99)));
    const people = Array.from({ length: 50 }, (_, i) => randomVector(i + 1));
    function* source(): Generator<{ key: number; template: FaceTemplate }> {
      for (const [i, vector] of people.entries()) yield { key: i, template: template(vector) };
      yield { key: 3, template: template(randomVector(1000)) }; // replaces person 3
      yield { key: 4, template: index.parse({ model: "small-8", vector: [1, 2, 3, 4, 5, 6, 7, 8] }) };
    }
    await index.rebuild(source());
    expect(index.size(MODEL)).toBe(49); // 50 people, key 4 moved to small-8
    expect(index.size("small-8")).toBe(1);
    expect(index.search(template(randomVector(99)), 1)).toEqual([]);
    expect(index.search(template(people[3] ?? []), 1)).toEqual([]);
    expect(index.search(template(randomVector(1000)), 1).map((hit) => hit.key)).toEqual([3n]);
    expect(index.search(template(people[10] ?? []), 1).map((hit) => hit.key)).toEqual([10n]);
    await expect(index.rebuild([{ key: 1, template: { model: "nope", vector: new Float32Array(4) } }])).rejects.toThrow(/unknown model/);
  });

  it("refuses an index file whose dimensions disagree with the registry", async () => {
    const index = await openIndex({ models: { "custom-8": { dimensions: 8, threshold: 0.9 } } });
    index.add(1, index.parse({ model: "custom-8", vector: [1, 2, 3, 4, 5, 6, 7, 8] }));
    await index.close();
    await expect(FaceIndex.open({ dir: dir.path, models: { "custom-8": { dimensions: 16, threshold: 0.9 } } })).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
    });
  });

  it("cleans up temp files left by an interrupted flush", async () => {
    const index = await openIndex();
    index.add(1, template(randomVector(1)));
    await index.close();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(dir.path, `face-${MODEL}.usearch.tmp-12345`), "partial");
    const reopened = await openIndex();
    expect(reopened.size()).toBe(1);
    expect(readdirSync(dir.path)).toEqual([`face-${MODEL}.usearch`]);
  });
});
