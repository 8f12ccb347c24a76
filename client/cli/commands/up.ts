import path from "node:path";
import type { Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { MESH_SPAN_FILE_NAME } from "../../../common/span-file.ts";
import { startTelemetry } from "../../../common/telemetry-sdk.ts";
import { demoCountries, MAX_DEMO_COUNTRIES } from "../demo-countries.ts";
import { prepareSampleData, startLocalMesh } from "../local-mesh.ts";
import { initMesh, MeshLayout } from "../mesh-layout.ts";
import { parsePositiveInt } from "./options.ts";
import type { CliRuntime } from "./runtime.ts";

interface UpFlags {
  dir: string;
  countries: number;
  persons: number;
  entities: number;
}

export function registerUpCommand(program: Command, runtime: CliRuntime): void {
  program
    .command("up")
    .description("start a local mesh (NATS, country nodes with sample data, coordinator) in a directory, until Ctrl-C")
    .option("--dir <dir>", "mesh directory (created with keys, registry and sample data on first use)", ".watchmesh")
    .option("--countries <n>", "number of country nodes when creating the mesh", parsePositiveInt, 5)
    .option("--persons <n>", "sample persons per country when creating the mesh", parsePositiveInt, 3000)
    .option("--entities <n>", "sample entities per country when creating the mesh", parsePositiveInt, 1000)
    .action(async (flags: UpFlags) => {
      if (flags.countries > MAX_DEMO_COUNTRIES) throw new WatchmeshError(ErrorCode.InvalidArgument, `--countries is at most ${MAX_DEMO_COUNTRIES}`);
      let layout = new MeshLayout(flags.dir);
      let countries: string[];
      let borderCountry = "FRA";
      if (layout.exists()) {
        const registry = await layout.loadRegistry();
        countries = registry.nodeCountries();
        borderCountry = registry.document.members.find((member) => member.role === "border")?.country ?? borderCountry;
      } else {
        countries = demoCountries(flags.countries);
        layout = await initMesh({ dir: flags.dir, countries, borderCountry });
        process.stderr.write(`created mesh in ${flags.dir}; importing sample data ...\n`);
        await prepareSampleData(layout, countries, { persons: flags.persons, entities: flags.entities });
      }
      // The coordinator's and nodes' spans go to the mesh directory for `watchmesh audit trace` (a check's
      // client span stays in its own process). Called directly, as the demo does: the runtime's
      // startTelemetry takes no options.
      const spanFile = path.join(flags.dir, MESH_SPAN_FILE_NAME);
      const telemetry = startTelemetry({ serviceName: "watchmesh-mesh", spanFile });
      const mesh = await startLocalMesh({
        layout,
        countries,
        borderCountry,
        ...(runtime.natsUrl ? { natsUrl: runtime.natsUrl } : {}),
        logger: runtime.serviceLogger("mesh", "warn"),
      });
      process.stdout.write(
        `mesh up: ${countries.length} nodes, NATS ${mesh.natsUrl}, coordinator ${mesh.coordinatorAddress}, spans to ${spanFile}\n` +
          `try: npx watchmesh check --mesh ${path.relative(process.cwd(), flags.dir) || "."} --name "Jean Dupont" --dob 1980-05-01\n` +
          `web console: npx watchmesh console serve --mesh ${path.relative(process.cwd(), flags.dir) || "."}\n`,
      );
      await runtime.untilShutdownSignal();
      await mesh.stop();
      await telemetry.shutdown();
    });
}
