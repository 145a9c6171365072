/**
 * The report data the real stages declare: series lengths match the frame counts the
 * steps report, metrics carry the steps' own numbers, and a batch's HTML index lists
 * failures first with links to every clip's page.
 */
import assert from "node:assert/strict";
import { demoSpeechPath, shortClipPath } from "../fixtures/mod.ts";
import { readStepReport } from "../src/report/data.ts";
import { workflowTest } from "../src/stages/_testing.ts";

workflowTest(
  "face.track, audio.features, lipsync.expression and video.compare declare series as long as their frames",
  async ({ media, run }) => {
    const clip = await shortClipPath(media, 1);
    const speech = await demoSpeechPath();
    const text = `version: 1
inputs:
  footage: { type: file, default: ${JSON.stringify(clip)} }
  dialogue: { type: file, default: ${JSON.stringify(speech)} }
steps:
  - id: probe
    uses: media.probe
    with: { input: "\${{ inputs.footage }}" }
  - id: track
    uses: face.track
    with: { video: "\${{ inputs.footage }}", max_frames: 12 }
  - id: features
    uses: audio.features
    with: { audio: "\${{ inputs.dialogue }}" }
  - id: mouth
    uses: lipsync.expression
    with: { features: "\${{ steps.features.outputs.features }}", fps: "\${{ steps.probe.outputs.fps }}" }
  - id: compare
    uses: video.compare
    with:
      original: "\${{ inputs.footage }}"
      dubbed: "\${{ inputs.footage }}"
      track: "\${{ steps.track.outputs.track }}"
      articulation: "\${{ steps.mouth.outputs.articulation }}"
      strip: 4
`;
    const report = await run(text, { reportHtml: false });
    const c = report.clips[0]!;
    assert.equal(c.status, "ok", c.error);
    const step = (id: string) => c.steps.find((s) => s.id === id)!;
    const data = async (id: string) => (await readStepReport(step(id).report!, step(id).outputs))!;

    const track = await data("track");
    const tracked = track.series.find((s) => s.name === "articulation")!;
    assert.equal(tracked.length, step("track").values.frames); // 12 frames tracked
    assert.equal(tracked.length, 12);
    assert.equal(Object.keys(tracked.channels).length, 8);
    for (const ch of Object.values(tracked.channels)) assert.equal(ch.length, 12);
    assert.equal(
      track.metrics.find((m) => m.name === "tracked_share")!.value,
      Number(step("track").values.found) / Number(step("track").values.frames),
    );

    const mouth = await data("mouth");
    const driving = mouth.series.find((s) => s.name === "articulation")!;
    assert.equal(driving.length, step("mouth").values.frames);
    assert.equal(driving.plot, "driving");
    // Frame i at i / 25 s: the driving track and the dialogue share the time axis.
    assert.deepEqual(driving.x, { unit: "s", start: 0, step: 0.04 });

    const features = await data("features");
    const dialogueS = Number(step("features").values.duration_s);
    for (const name of ["energy", "vad"]) {
      const s = features.series.find((x) => x.name === name)!;
      // 100 feature frames per second (10 ms hop), frame 0 centred on t = 0.
      assert.ok(
        Math.abs(s.length - dialogueS * 100) <= 2,
        `${name}: ${s.length} frames for ${dialogueS} s`,
      );
    }
    assert.equal(
      features.metrics.find((m) => m.name === "speech_s")!.value,
      Number(Number(step("features").values.speech_s).toPrecision(6)),
    );

    // The footage compared with itself: identical (99 dB), pictures of every pick and the strip.
    const compare = await data("compare");
    assert.equal(compare.metrics.find((m) => m.name === "psnr_outside_db")!.value, 99);
    assert.equal(compare.series.find((s) => s.name === "psnr_outside")!.length, 25);
    assert.ok(compare.images.some((i) => i.name === "mouth_strip"));
    assert.ok(compare.images.filter((i) => i.name.startsWith("frame_")).length >= 4);
  },
);
