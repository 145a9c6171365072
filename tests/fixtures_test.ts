import assert from "node:assert/strict";
import { readPly } from "../src/splat/mod.ts";
import { loadWorkflow } from "../src/workflow/load.ts";
import { committed } from "./_helpers.ts";
import { REGISTRY } from "../src/stages/mod.ts";

Deno.test("committed fixtures: tiny.ply reads as 24 SH-1 Gaussians, cameras.json has two cameras, workflows validate", async () => {
  const ply = await readPly(committed("tiny.ply"));
  assert.equal(ply.count, 24);
  assert.equal(ply.shDegree, 1);
  const cams = JSON.parse(await Deno.readTextFile(committed("cameras.json")));
  assert.deepEqual(cams.map((c: { img_name: string }) => c.img_name), ["wide", "front"]);
  for (const e of Deno.readDirSync(committed("workflows"))) {
    const wf = await loadWorkflow(committed(`workflows/${e.name}`), { registry: REGISTRY });
    assert.ok(wf.order.length > 0, e.name);
  }
});
