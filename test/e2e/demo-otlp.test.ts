import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.ts";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

describe("watchmesh demo with OTLP export", () => {
  it("exports its checks' traces to the collector as well as printing one", async () => {
    receiver = await startOtlpReceiver();
    const result = await runCli(["demo", "--countries", "2", "--persons", "100", "--entities", "20", "--no-progress"], {
      env: {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_METRICS_EXPORTER: "none",
        OTEL_LOGS_EXPORTER: "none",
      },
      timeoutMs: 90_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const printed = /== Trace ([0-9a-f]{32}) of the first hit/.exec(result.stdout)?.[1];
    expect(printed).toBeDefined();
    // The demo flushes its exporter before it exits, so the printed trace is already at the collector.
    const spans = receiver.spans().filter((span) => span.traceId === printed);
    expect(spans.filter((span) => span.name === "watchmesh.client.check")).toHaveLength(1);
    expect(spans.filter((span) => span.name === "watchmesh.node.match")).toHaveLength(2);
  }, 120_000);
});
