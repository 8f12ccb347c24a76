import type { sendUnaryData, ServerUnaryCall, ServiceDefinition } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAnswer } from "../../common/envelope.ts";
import { startGrpcServer, type RunningGrpcServer } from "../../common/grpc-server.ts";
import { createIdentity, MemberRole } from "../../common/key-files.ts";
import { AnswerStatus, CountryStatus, decodeMatchAnswer, watchmeshGrpcPackage, type SignedEnvelope } from "../../common/proto.ts";
import { BorderClient } from "../../client/border-client.ts";
import { startTestMesh, type TestMesh } from "../helpers/mesh.ts";

type Tamper = (results: { country: string; status: string; answer: SignedEnvelope | null; elapsedMs: number; errorCode: string }[]) => void;

let mesh: TestMesh;
let proxy: RunningGrpcServer;
let client: BorderClient;
let tamper: Tamper = () => undefined;
const lastAnswers: Map<string, SignedEnvelope> = new Map();

beforeAll(async () => {
  mesh = await startTestMesh({
    countries: ["DEU", "POL"],
    records: { DEU: [{ kind: "person", id: "DEU-P-9", names: ["Anna Schmidt"], dob: "1990-01-01", action: "arrest" }], POL: [] },
  });
  // A coordinator that forwards to the real one and then lies about the answers.
  const definition = (watchmeshGrpcPackage()["Coordinator"] as unknown as { service: ServiceDefinition }).service;
  proxy = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [
      {
        name: "watchmesh.v1.Coordinator",
        definition,
        implementation: {
          Check(call: ServerUnaryCall<{ query: SignedEnvelope; deadlineMs: number; countries: string[] }, unknown>, callback: sendUnaryData<unknown>) {
            mesh.coordinator.check(call.request.query, { deadlineMs: call.request.deadlineMs }).then(
              (outcome) => {
                const results = outcome.results.map((result) => ({
                  country: result.country,
                  status: result.status,
                  answer: result.answer ?? null,
                  elapsedMs: result.elapsedMs,
                  errorCode: result.errorCode,
                }));
                for (const result of results) if (result.answer) lastAnswers.set(result.country, result.answer);
                tamper(results);
                callback(null, { queryId: outcome.queryId, traceId: outcome.traceId, results });
              },
              (error: Error) => callback(error),
            );
          },
        },
      },
    ],
  });
  client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${proxy.port}`, identity: mesh.trust.border, registry: mesh.trust.registry });
});
afterAll(async () => {
  client?.close();
  await proxy?.stop(0);
  await mesh?.stop();
});

const traveller = { person: { names: ["Anna Schmidt"], dob: "1990-01-01" } };

describe("the border client does not trust the coordinator", () => {
  it("sees the honest result when nothing is tampered", async () => {
    tamper = () => undefined;
    const result = await client.check(traveller);
    expect(result.results.find((r) => r.country === "DEU")?.status).toBe("hit");
  });

  it("detects a hit turned into a no-hit by a coordinator re-signing the answer with its own key", async () => {
    const forger = createIdentity(MemberRole.Node, "DEU", "node-agency");
    tamper = (results) => {
      const deu = results.find((r) => r.country === "DEU");
      if (!deu?.answer) return;
      const original = decodeMatchAnswer(deu.answer.payload);
      const forged = signAnswer({ ...original, status: AnswerStatus.NoHit, hits: [] }, forger);
      deu.answer = { ...forged, keyId: deu.answer.keyId };
      deu.status = CountryStatus.NoHit;
    };
    const result = await client.check(traveller);
    const deu = result.results.find((r) => r.country === "DEU");
    expect(deu?.status).toBe("error");
    expect(deu?.errorCode).toBe("BAD_SIGNATURE");
  });

  it("detects an authentic answer to an earlier query passed off as the answer to this one", async () => {
    tamper = () => undefined;
    await client.check({ person: { names: ["Nobody Known"], dob: "1970" } });
    const staleNoHit = lastAnswers.get("DEU");
    tamper = (results) => {
      const deu = results.find((r) => r.country === "DEU");
      if (deu && staleNoHit) {
        deu.answer = staleNoHit;
        deu.status = CountryStatus.NoHit;
      }
    };
    const result = await client.check(traveller);
    expect(result.results.find((r) => r.country === "DEU")?.status).toBe("error");
    expect(result.results.find((r) => r.country === "DEU")?.errorCode).toBe("ANSWER_INVALID");
  });

  it("shows a dropped answer as unavailable, never as no-hit", async () => {
    tamper = (results) => {
      const index = results.findIndex((r) => r.country === "DEU");
      results.splice(index, 1);
    };
    const result = await client.check(traveller);
    expect(result.results.find((r) => r.country === "DEU")?.status).toBe("unavailable");
    expect(result.results.find((r) => r.country === "POL")?.status).toBe("no_hit");
  });

  it("does not believe a no-hit claimed without a signed answer", async () => {
    tamper = (results) => {
      const deu = results.find((r) => r.country === "DEU");
      if (deu) {
        deu.answer = null;
        deu.status = CountryStatus.NoHit;
      }
    };
    const result = await client.check(traveller);
    expect(result.results.find((r) => r.country === "DEU")?.status).toBe("unavailable");
  });
});
