import assert from "node:assert/strict";
import { Command } from "commander";
import { parseBackground, registerSplatCommands } from "./splat_cmd.ts";
import {
  CpuBackend,
  encodePng,
  randomScene,
  readPng,
  simplePinhole,
  writePly,
} from "../splat/mod.ts";
import { cameraToJson } from "../splat/camera.ts";
import type { PinholeCamera } from "../splat/types.ts";

async function run(args: string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const program = new Command().exitOverride();
  registerSplatCommands(program, { out: (s) => out.push(s), err: (s) => err.push(s) });
  await program.parseAsync(args, { from: "user" });
  return { out, err };
}

Deno.test("parseBackground() accepts 0..1 and 0..255 triples and rejects the rest", () => {
  assert.deepEqual(parseBackground("1,0.5,0"), [1, 0.5, 0]);
  assert.deepEqual(parseBackground("255, 0, 51"), [1, 0, 0.2]);
  for (const bad of ["1,1", "a,b,c", "1,,1", "-1,0,0", "300,0,0"]) {
    assert.throws(() => parseBackground(bad), /Invalid --background/);
  }
});

Deno.test("splat render writes the CPU image of a PLY from a cameras.json camera; splat info summarises", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const scene = randomScene({ count: 60, seed: 9, shDegree: 1, center: [0, 0, 3] });
    await writePly(`${dir}/s.ply`, scene);
    const cam = simplePinhole(40, 30) as PinholeCamera;
    const other = { ...cam, fx: 10, fy: 10 };
    await Deno.writeTextFile(
      `${dir}/cameras.json`,
      JSON.stringify([cameraToJson(other, 0, "a"), cameraToJson(cam, 1, "b")]),
    );
    const r = await run([
      "splat",
      "render",
      `${dir}/s.ply`,
      "--camera",
      `${dir}/cameras.json`,
      "--camera-name",
      "b",
      "--out",
      `${dir}/o.png`,
      "--backend",
      "cpu",
      "--background",
      "0,0,1",
    ]);
    assert.match(r.out[0]!, /o\.png: 40×30, 60 Gaussians, cpu/);
    assert.match(r.err[0]!, /backend: cpu: requested/);
    const want = await new CpuBackend().render(scene, cam, { background: [0, 0, 1] });
    const got = await readPng(`${dir}/o.png`);
    const ref = encodePng(want.rgb, 40, 30);
    assert.deepEqual(await Deno.readFile(`${dir}/o.png`), ref);
    assert.equal(got.width, 40);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "cameras.json",
      "o.png",
      "s.ply",
    ]);

    const info = await run(["splat", "info", `${dir}/s.ply`, "--json"]);
    const j = JSON.parse(info.out[0]!);
    assert.equal(j.count, 60);
    assert.equal(j.shDegree, 1);
    assert.ok(j.boundsMin[2] >= 2 && j.boundsMax[2] <= 4);
    const text = await run(["splat", "info", `${dir}/s.ply`]);
    assert.match(text.out.join("\n"), /gaussians:\s+60[\s\S]*sh degree:\s+1/);

    await assert.rejects(
      () =>
        run([
          "splat",
          "render",
          `${dir}/missing.ply`,
          "--camera",
          `${dir}/cameras.json`,
          "--out",
          `${dir}/x.png`,
        ]),
      /Cannot read ".*missing\.ply"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
