import assert from "node:assert/strict";
import { join } from "node:path";
import { shortClipPath } from "../fixtures/mod.ts";
import { readStepReport } from "../src/report/data.ts";
import { workflowTest } from "../src/stages/_testing.ts";

workflowTest(
  "runWorkflow() keeps what steps declared for the report with their cache entries; a cached re-run reports the same",
  async ({ media, run }) => {
    const clip = await shortClipPath(media, 1);
    const text = `version: 1
inputs:
  footage: { type: file, default: ${JSON.stringify(clip)} }
steps:
  - id: probe
    uses: media.probe
    with: { input: "\${{ inputs.footage }}" }
  - id: enc
    uses: video.encode
    with: { video: "\${{ inputs.footage }}", preset: ultrafast }
`;
    const load = async () => {
      const rep = await run(text);
      const clipRec = rep.clips[0]!;
      assert.equal(clipRec.status, "ok", clipRec.error);
      const out = [];
      for (const s of clipRec.steps) {
        assert.ok(s.report, `step ${s.id} has report data`);
        // Report files are not step outputs.
        assert.deepEqual(Object.keys(s.outputs).filter((k) => k.startsWith("report:")), []);
        out.push({ status: s.status, data: await readStepReport(s.report, s.outputs) });
      }
      return out;
    };
    const first = await load();
    assert.deepEqual(first.map((s) => s.status), ["ran", "ran"]);
    const probe = first[0]!.data!;
    // The 1 s cap12 cut: 25 frames at 25 fps.
    assert.equal(probe.metrics.find((m) => m.name === "frame_count")?.value, 25);
    assert.equal(probe.metrics.find((m) => m.name === "fps")?.value, 25);
    const enc = first[1]!.data!;
    assert.equal(enc.metrics.find((m) => m.name === "frames")?.value, 25);
    assert.equal(enc.videos.length, 1);
    assert.ok((await Deno.stat(enc.videos[0]!.path)).size > 0);
    const second = await load();
    assert.deepEqual(second.map((s) => s.status), ["cached", "cached"]);
    assert.deepEqual(second.map((s) => s.data), first.map((s) => s.data));
  },
);

workflowTest(
  "runWorkflow(): `report: false` writes no HTML report; reportHtml puts the page (and its files) where asked",
  async ({ media, dir, run }) => {
    const clip = await shortClipPath(media, 1);
    const text = (extra: string) =>
      `version: 1
inputs:
  footage: { type: file, default: ${JSON.stringify(clip)} }
steps:
  - id: probe
    uses: media.probe
    with: { input: "\${{ inputs.footage }}" }
outputs:
  info: { from: "\${{ steps.probe.outputs.info }}", path: "out/{stem}.json" }
${extra}`;
    const events: string[] = [];
    const runWith = (extra: string, reportHtml?: string) =>
      run(text(extra), {
        onEvent: (e) => {
          if (e.type === "report_written") events.push(e.path);
        },
        ...(reportHtml ? { reportHtml } : {}),
      });
    await runWith("report: false\n");
    assert.deepEqual([...Deno.readDirSync(join(dir, "out"))].map((e) => e.name), ["cap12_1s.json"]);
    assert.deepEqual(events, []);
    await runWith("");
    assert.deepEqual(events, [join(dir, "out", "wf_report", "report.html")]);
    const page = join(dir, "elsewhere", "r.html");
    await runWith("", page);
    assert.equal(events[1], page);
    const html = await Deno.readTextFile(page);
    assert.match(html, /<section id="metrics">/);
    assert.ok(Deno.statSync(join(dir, "elsewhere", "r_files")).isDirectory);
    // A clip that fails before its first step: the page still lists the step, as not run.
    const missing = join(dir, "missing.mp4");
    const failed = await run(text("").replace(JSON.stringify(clip), JSON.stringify(missing)), {
      reportHtml: join(dir, "failed.html"),
    });
    assert.equal(failed.clips[0]!.status, "failed");
    const failedHtml = await Deno.readTextFile(join(dir, "failed.html"));
    assert.match(
      failedHtml,
      /<td>probe<\/td><td><code>media\.probe<\/code><\/td>\s*<td><span class="badge s-not-run">not-run/,
    );
    assert.match(failedHtml, /missing\.mp4/);
  },
);
