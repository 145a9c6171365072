/**
 * `dub splat render` and `dub splat info`: render a 3DGS `.ply` from a
 * `cameras.json` camera to a PNG, and summarise a scene.
 *
 * @module
 */
import { type Command, Option } from "commander";
import { dirname, resolve } from "node:path";
import { DubError } from "../errors.ts";
import { checkWritable } from "../workflow/guard.ts";
import {
  type BackendName,
  createSplatBackend,
  readCamera,
  readPly,
  SplatInputError,
  summarizeScene,
  writePng,
} from "../splat/mod.ts";
import { ensureXdgRuntimeDir } from "./runtime_dir.ts";

/** Where the commands print (stdout lines, stderr lines); injectable for tests. */
export interface SplatCmdIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

const enc = new TextEncoder();
const defaultIO: SplatCmdIO = {
  out: (s) => Deno.stdout.writeSync(enc.encode(s + "\n")),
  err: (s) => Deno.stderr.writeSync(enc.encode(s + "\n")),
};

/** Parses "r,g,b" with each value in [0, 1] (or 0..255 integers when any exceeds 1). */
export function parseBackground(text: string): [number, number, number] {
  const parts = text.split(",").map((s) => s.trim());
  const v = parts.map(Number);
  if (
    parts.length !== 3 || parts.some((p) => p === "") || !v.every(Number.isFinite) ||
    v.some((x) => x < 0)
  ) {
    throw new DubError("usage", `Invalid --background "${text}"`, {
      hint: "pass three numbers r,g,b in 0..1 (e.g. 1,1,1) or 0..255 (e.g. 255,255,255)",
    });
  }
  if (v.some((x) => x > 1)) {
    if (v.some((x) => x > 255)) {
      throw new DubError("usage", `Invalid --background "${text}": values above 255`, {
        hint: "pass r,g,b in 0..1 or 0..255",
      });
    }
    return [v[0]! / 255, v[1]! / 255, v[2]! / 255];
  }
  return [v[0]!, v[1]!, v[2]!];
}

function parseIndex(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new DubError("usage", `Invalid --camera-index "${v}"`, {
      hint: "pass a non-negative integer",
    });
  }
  return n;
}

interface RenderOpts {
  camera: string;
  cameraIndex?: number;
  cameraName?: string;
  out: string;
  backend: BackendName;
  background?: string;
  json?: boolean;
}

const fmt = (
  v: number,
  d = 4,
) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v));

/** Reads a scene for the commands: an empty one (0 Gaussians) is an input error. */
async function readScene(path: string) {
  const scene = await readPly(path);
  if (scene.count === 0) {
    throw new SplatInputError(
      `Cannot use "${path}": the scene has 0 Gaussians (element vertex 0)`,
      {
        hint: "pass a scene with at least one Gaussian",
      },
    );
  }
  return scene;
}

/** Adds `splat render` and `splat info` to the program. */
export function registerSplatCommands(program: Command, io: SplatCmdIO = defaultIO): void {
  const splat = program.command("splat").description(
    "render and inspect 3D Gaussian splat scenes (.ply)",
  );

  splat.command("render")
    .argument("<scene>", "3DGS scene (.ply, binary little-endian)")
    .description("render a scene from a cameras.json camera to a PNG")
    .requiredOption(
      "--camera <file>",
      "cameras.json written by 3DGS training (an array or one entry)",
    )
    .option("--camera-index <n>", "entry of the camera array (default 0)", parseIndex)
    .option("--camera-name <name>", "entry of the camera array by img_name (or id)")
    .requiredOption("--out <image.png>", "output PNG (written atomically)")
    .addOption(
      new Option("--backend <name>", "splat backend").choices(["auto", "webgpu", "cpu"]).default(
        "auto",
      ),
    )
    .option("--background <r,g,b>", "background colour, 0..1 or 0..255 (default black)")
    .option("--json", "print the result as JSON")
    .action(async (scenePath: string, opts: RenderOpts) => {
      const background = opts.background === undefined
        ? [0, 0, 0] as [number, number, number]
        : parseBackground(
          opts.background,
        );
      if (opts.cameraIndex !== undefined && opts.cameraName !== undefined) {
        throw new DubError("usage", "Pass either --camera-index or --camera-name, not both", {
          hint: "pick the camera one way",
        });
      }
      // Where the PNG goes must be writable before any work (a missing folder is created).
      await checkWritable(opts.out, "output image (--out)");
      const scene = await readScene(scenePath);
      const camera = await readCamera(opts.camera, {
        ...(opts.cameraIndex !== undefined ? { index: opts.cameraIndex } : {}),
        ...(opts.cameraName !== undefined ? { name: opts.cameraName } : {}),
      });
      if (opts.backend !== "cpu") ensureXdgRuntimeDir();
      using backend = await createSplatBackend({ backend: opts.backend });
      if (!opts.json) io.err(`backend: ${backend.reason}`);
      const t0 = performance.now();
      const img = await backend.render(scene, camera, { background });
      const renderMs = performance.now() - t0;
      await Deno.mkdir(dirname(resolve(opts.out)), { recursive: true });
      await writePng(opts.out, img.rgb, img.width, img.height);
      if (opts.json) {
        io.out(JSON.stringify({
          out: opts.out,
          width: img.width,
          height: img.height,
          gaussians: scene.count,
          backend: backend.name,
          reason: backend.reason,
          renderMs: Math.round(renderMs * 10) / 10,
        }));
      } else {
        io.out(
          `${opts.out}: ${img.width}×${img.height}, ${scene.count} Gaussians, ${backend.name}, ${
            renderMs.toFixed(1)
          } ms`,
        );
      }
    });

  splat.command("info")
    .argument("<scene>", "3DGS scene (.ply)")
    .description("summarise a scene: counts, SH degree, bounds, opacity and scale statistics")
    .option("--json", "print as JSON")
    .action(async (scenePath: string, opts: { json?: boolean }) => {
      const s = summarizeScene(await readScene(scenePath));
      if (opts.json) {
        io.out(JSON.stringify({ scene: scenePath, ...s }));
        return;
      }
      const v3 = (v: number[]) => `(${v.map((x) => fmt(x)).join(", ")})`;
      io.out(`${scenePath}`);
      io.out(`  gaussians:  ${s.count}`);
      io.out(`  sh degree:  ${s.shDegree} (${(s.shDegree + 1) ** 2} coefficients per channel)`);
      io.out(`  bounds:     min ${v3(s.boundsMin)}  max ${v3(s.boundsMax)}`);
      io.out(
        `  opacity:    min ${fmt(s.opacity.min)}  median ${fmt(s.opacity.median)}  mean ${
          fmt(s.opacity.mean)
        }  max ${fmt(s.opacity.max)}  (${s.opacity.below0005} below 0.005)`,
      );
      io.out(
        `  max scale:  min ${fmt(s.maxScale.min)}  median ${fmt(s.maxScale.median)}  max ${
          fmt(s.maxScale.max)
        }`,
      );
    });
}
