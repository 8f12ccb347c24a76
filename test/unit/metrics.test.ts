import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { MetricsRegistry, parseMetricsAddress } from "../../common/metrics.ts";

describe("Prometheus exposition format", () => {
  it("writes HELP and TYPE lines, and an unlabelled counter at zero before its first update", () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: "demo_total", help: "Demo events." });
    expect(registry.render()).toBe("# HELP demo_total Demo events.\n# TYPE demo_total counter\ndemo_total 0\n");
  });

  it("writes one line per label set, labels in declaration order", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: "demo_results_total", help: "Results.", labelNames: ["country", "status"] });
    counter.inc({ status: "hit", country: "DEU" });
    counter.inc({ status: "hit", country: "DEU" }, 2);
    counter.inc({ country: "ESP", status: "no_hit" });
    const gauge = registry.gauge({ name: "demo_records", help: "Records.", labelNames: ["kind"] });
    gauge.set({ kind: "persons" }, 12);
    gauge.set({ kind: "persons" }, 7);
    expect(registry.render()).toBe(
      [
        "# HELP demo_results_total Results.",
        "# TYPE demo_results_total counter",
        'demo_results_total{country="DEU",status="hit"} 3',
        'demo_results_total{country="ESP",status="no_hit"} 1',
        "# HELP demo_records Records.",
        "# TYPE demo_records gauge",
        'demo_records{kind="persons"} 7',
        "",
      ].join("\n"),
    );
  });

  it("escapes backslash and newline in HELP, and backslash, quote and newline in label values", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: "demo_total", help: "A \\ path\nsecond line", labelNames: ["code"] });
    counter.inc({ code: 'a"b\\c\nd' });
    const text = registry.render();
    expect(text).toContain("# HELP demo_total A \\\\ path\\nsecond line\n");
    expect(text).toContain('demo_total{code="a\\"b\\\\c\\nd"} 1\n');
    // Every sample stays on one line.
    expect(text.trimEnd().split("\n")).toHaveLength(3);
  });

  it("renders histogram buckets cumulatively with +Inf, _sum and _count", () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({ name: "demo_seconds", help: "Durations.", labelNames: ["outcome"], buckets: [0.1, 0.5, 1] });
    for (const seconds of [0.05, 0.1, 0.3, 2]) histogram.observe({ outcome: "completed" }, seconds);
    expect(histogram.count({ outcome: "completed" })).toBe(4);
    expect(registry.render()).toBe(
      [
        "# HELP demo_seconds Durations.",
        "# TYPE demo_seconds histogram",
        'demo_seconds_bucket{outcome="completed",le="0.1"} 2', // 0.1 falls in its own bucket (le is <=)
        'demo_seconds_bucket{outcome="completed",le="0.5"} 3',
        'demo_seconds_bucket{outcome="completed",le="1"} 3',
        'demo_seconds_bucket{outcome="completed",le="+Inf"} 4',
        'demo_seconds_sum{outcome="completed"} 2.45',
        'demo_seconds_count{outcome="completed"} 4',
        "",
      ].join("\n"),
    );
  });

  it("renders an unlabelled histogram with only le on its buckets", () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram({ name: "demo_seconds", help: "Durations.", buckets: [1] });
    histogram.observe({}, 0.5);
    const text = registry.render();
    expect(text).toContain('demo_seconds_bucket{le="1"} 1\ndemo_seconds_bucket{le="+Inf"} 1\ndemo_seconds_sum 0.5\ndemo_seconds_count 1\n');
  });

  it("refuses wrong label sets, negative increments, bad names, duplicates and unordered buckets", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: "demo_total", help: "x", labelNames: ["status"] });
    expect(() => counter.inc({ status: "hit", queryId: "q" } as never)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => counter.inc({} as never)).toThrow(/takes labels \{status\}/);
    expect(() => counter.inc({ status: "hit" }, -1)).toThrow(/only goes up/);
    expect(() => registry.counter({ name: "demo_total", help: "again" })).toThrow(/already registered/);
    expect(() => registry.counter({ name: "bad-name", help: "x" })).toThrow(/invalid metric name/);
    expect(() => registry.counter({ name: "ok_total", help: "x", labelNames: ["le"] })).toThrow(/invalid label name/);
    expect(() => registry.histogram({ name: "h_seconds", help: "x", buckets: [1, 0.5] })).toThrow(/strictly increasing/);
  });

  it("runs collectors before rendering and keeps rendering when one throws", () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: "demo_records", help: "Records.", labelNames: ["kind"] });
    let persons = 3;
    registry.addCollector(() => gauge.set({ kind: "persons" }, persons));
    registry.addCollector(() => {
      throw new Error("store closed");
    });
    expect(registry.render()).toContain('demo_records{kind="persons"} 3\n');
    persons = 5;
    expect(registry.render()).toContain('demo_records{kind="persons"} 5\n');
  });
});

describe("parseMetricsAddress", () => {
  it("reads host:port, [ipv6]:port and :port", () => {
    expect(parseMetricsAddress("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseMetricsAddress("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(parseMetricsAddress(":9464")).toEqual({ host: "0.0.0.0", port: 9464 });
  });

  it("refuses anything else with CONFIG_INVALID", () => {
    for (const text of ["9464", "host:", "host:70000", "host:port"]) {
      expect(() => parseMetricsAddress(text)).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
    }
  });
});
