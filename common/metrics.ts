/**
 * A small Prometheus registry and its text exposition format (version 0.0.4): counters, gauges and
 * fixed-bucket histograms with label sets. Hand-written rather than a dependency because the format is
 * small and stable, and because the registry must stay free of anything that could hold personal data:
 * every label set is declared up front and its values come from closed sets chosen by the caller.
 *
 * Library code takes a MetricsRegistry as an option; only entry points start the HTTP endpoint.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { ErrorCode, WatchmeshError } from "./errors.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Latency buckets in seconds: from 1 ms (a node answering from LMDB) to 10 s (above the longest check
 * deadline a coordinator allows by default).
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds in seconds, strictly increasing; +Inf is added (default LATENCY_BUCKETS_SECONDS). */
  buckets?: readonly number[];
}

type MetricType = "counter" | "gauge" | "histogram";

/** Shared by the three kinds: name, help, declared label names and one series per label set. */
abstract class Metric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  abstract readonly type: MetricType;
  // Keyed by the label values in declaration order; the values are kept for rendering.
  readonly #series = new Map<string, { values: readonly string[]; state: S }>();

  constructor(options: MetricOptions<L>) {
    if (!METRIC_NAME.test(options.name)) throw new WatchmeshError(ErrorCode.InvalidArgument, `invalid metric name ${options.name}`);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      // "le" is the histogram bucket label; names starting "__" are reserved by Prometheus.
      if (!LABEL_NAME.test(label) || label.startsWith("__") || label === "le") {
        throw new WatchmeshError(ErrorCode.InvalidArgument, `invalid label name ${label} on ${options.name}`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, `duplicate label name on ${options.name}`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labelNames;
  }

  protected abstract initialState(): S;

  /** The series for exactly the declared labels; anything else is a programming error. */
  protected series(labels: Partial<Record<L, string>>): S {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || this.labelNames.some((name) => typeof labels[name] !== "string")) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, `${this.name} takes labels {${this.labelNames.join(",")}}, got {${given.join(",")}}`);
    }
    const values = this.labelNames.map((name) => labels[name] as string);
    const key = JSON.stringify(values);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { values, state: this.initialState() };
      this.#series.set(key, entry);
    }
    return entry.state;
  }

  protected abstract renderSeries(labels: string, values: readonly string[], state: S): string[];

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    // An unlabelled metric is always exposed, at zero before its first update.
    if (this.labelNames.length === 0) this.series({});
    for (const { values, state } of this.#series.values()) {
      lines.push(...this.renderSeries(labelText(this.labelNames, values), values, state));
    }
    return lines.join("\n") + "\n";
  }
}

export class Counter<L extends string = never> extends Metric<L, { value: number }> {
  readonly type = "counter";

  protected override initialState(): { value: number } {
    return { value: 0 };
  }

  /** Adds `value` (default 1; 0 makes the series visible before its first event). Negative values are refused. */
  inc(labels: Record<L, string>, value = 1): void {
    if (!(value >= 0)) throw new WatchmeshError(ErrorCode.InvalidArgument, `${this.name}: a counter only goes up`);
    this.series(labels).value += value;
  }

  get(labels: Record<L, string>): number {
    return this.series(labels).value;
  }

  protected override renderSeries(labels: string, _values: readonly string[], state: { value: number }): string[] {
    return [`${this.name}${labels} ${formatNumber(state.value)}`];
  }
}

export class Gauge<L extends string = never> extends Metric<L, { value: number }> {
  readonly type = "gauge";

  protected override initialState(): { value: number } {
    return { value: 0 };
  }

  set(labels: Record<L, string>, value: number): void {
    this.series(labels).value = value;
  }

  get(labels: Record<L, string>): number {
    return this.series(labels).value;
  }

  protected override renderSeries(labels: string, _values: readonly string[], state: { value: number }): string[] {
    return [`${this.name}${labels} ${formatNumber(state.value)}`];
  }
}

interface HistogramState {
  /** Non-cumulative count per finite bucket; made cumulative when rendered. */
  buckets: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  readonly type = "histogram";
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions<L>) {
    super(options);
    const buckets = options.buckets ?? LATENCY_BUCKETS_SECONDS;
    if (buckets.length === 0 || buckets.some((bound, i) => !Number.isFinite(bound) || (i > 0 && bound <= (buckets[i - 1] as number)))) {
      throw new WatchmeshError(ErrorCode.InvalidArgument, `${options.name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = [...buckets];
  }

  protected override initialState(): HistogramState {
    return { buckets: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  /** Records one duration in seconds (the Prometheus base unit). */
  observe(labels: Record<L, string>, seconds: number): void {
    if (Number.isNaN(seconds)) return; // A NaN would poison _sum for the life of the process.
    const state = this.series(labels);
    const index = this.buckets.findIndex((bound) => seconds <= bound);
    if (index >= 0) state.buckets[index] = (state.buckets[index] ?? 0) + 1;
    state.sum += seconds;
    state.count += 1;
  }

  /** Observations so far for a label set. */
  count(labels: Record<L, string>): number {
    return this.series(labels).count;
  }

  protected override renderSeries(_labels: string, values: readonly string[], state: HistogramState): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += state.buckets[i] ?? 0;
      lines.push(`${this.name}_bucket${labelText([...this.labelNames, "le"], [...values, formatNumber(bound)])} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket${labelText([...this.labelNames, "le"], [...values, "+Inf"])} ${state.count}`);
    const labels = labelText(this.labelNames, values);
    lines.push(`${this.name}_sum${labels} ${formatNumber(state.sum)}`, `${this.name}_count${labels} ${state.count}`);
    return lines;
  }
}

/**
 * The metrics of one process. `render()` runs the collectors (gauges sampled at scrape time, such as
 * record counts) and then writes every metric in registration order.
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric<string, unknown>>();
  readonly #collectors: (() => void)[] = [];

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.#add(new Counter<L>(options));
  }

  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
    return this.#add(new Gauge<L>(options));
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.#add(new Histogram<L>(options));
  }

  /** Runs before every render; a collector that throws leaves its gauges at their last values. */
  addCollector(collect: () => void): void {
    this.#collectors.push(collect);
  }

  render(): string {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch {
        // Telemetry never fails a scrape, let alone the service: stale values beat no metrics.
      }
    }
    return [...this.#metrics.values()].map((metric) => metric.render()).join("");
  }

  #add<M extends Metric<string, unknown>>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new WatchmeshError(ErrorCode.InvalidArgument, `metric ${metric.name} is already registered`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n");
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? "")}"`).join(",")}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: MetricsRegistry;
}

export interface RunningMetricsServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Closes the listener and every open connection. Idempotent: every call gets the same promise. */
  stop(): Promise<void>;
}

/** Serves `GET /metrics` for Prometheus; every other path or method is 404. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    let body: string;
    try {
      body = options.registry.render();
    } catch {
      response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("metrics unavailable\n");
      return;
    }
    response.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      reject(new WatchmeshError(ErrorCode.Unavailable, `cannot listen for metrics on ${options.host}:${options.port}: ${error.message}`, { cause: error }));
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Scrapers keep connections alive; without this close() would wait for them to time out.
      server.closeAllConnections();
    });
    return stopping;
  };
  return { host: options.host, port, stop, [Symbol.asyncDispose]: stop };
}

/** Parses `host:port` (IPv6 as `[::1]:9464`) for a metrics listener. */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, `metrics address must be host:port, e.g. 127.0.0.1:9464, not ${JSON.stringify(text)}`);
  }
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}
