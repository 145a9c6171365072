/**
 * The demo's HTML report in a real browser (Debian `chromium`, headless): no console errors, every image loaded, every plot has drawn marks,
 * the expected sections are there. Runs `workflows/demo.yaml` on the 2 s cut of the
 * demo footage (tracking 50 frames) to stay fast. Chromium is driven over the
 * DevTools protocol (`tests/_cdp.ts`). Keeps a full-page screenshot at
 * `.cache/report_test/demo_report.png` (and the report folder beside it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { demoSpeechPath, REPO_ROOT, shortClipPath } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import { dub, withTempDir } from "./_helpers.ts";
import { CHROMIUM, HeadlessPage } from "./_cdp.ts";

const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const ARTEFACTS = join(REPO_ROOT, ".cache", "report_test");

Deno.test({
  name:
    "report.html of the demo: sections, images, plots and no console errors in headless Chromium",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDir(async (dir) => {
      const media = await openMedia();
      const footage = await shortClipPath(media, 2);
      await media[Symbol.asyncDispose]?.();
      const doc = parseDocument(await Deno.readTextFile(join(REPO_ROOT, "workflows", "demo.yaml")));
      doc.setIn(["inputs", "footage", "default"], footage);
      doc.setIn(["inputs", "dialogue", "default"], await demoSpeechPath());
      const steps = doc.get("steps") as { items: { get(k: string): unknown }[] };
      const track = steps.items.findIndex((s) => s.get("uses") === "face.track");
      doc.setIn(["steps", track, "with", "max_frames"], 50);
      for (const name of ["dubbed", "track_preview", "contact_sheet", "articulation"]) {
        const p = String(doc.getIn(["outputs", name, "path"]));
        doc.setIn(["outputs", name, "path"], p.replace("../out/", "out/"));
      }
      const wf = join(dir, "demo.yaml");
      await Deno.writeTextFile(wf, doc.toString({ lineWidth: 0 }));
      const r = await dub([wf, "--cache-dir", join(dir, "cache")]);
      assert.equal(r.code, 0, r.stderr);
      // The terminal ends with the page to open.
      const page = /\nreport: (.*)\n$/.exec(r.stderr)?.[1];
      assert.ok(page && page.endsWith("report.html"), r.stderr);

      const tab = await HeadlessPage.launch(join(dir, "chromium-profile"));
      try {
        const problems: string[] = [];
        tab.on(({ method, params }) => {
          // deno-lint-ignore no-explicit-any
          const p = params as Record<string, any>;
          if (method === "Runtime.consoleAPICalled" && p.type === "error") {
            problems.push(`console: ${JSON.stringify(p.args)}`);
          } else if (method === "Runtime.exceptionThrown") {
            problems.push(`page error: ${JSON.stringify(p.exceptionDetails)}`);
          } else if (method === "Log.entryAdded" && p.entry.level === "error") {
            problems.push(`log: ${p.entry.text} ${p.entry.url ?? ""}`);
          } else if (method === "Network.requestWillBeSent") {
            // Offline: anything but file: (and the player's own data: icons) is network use.
            if (!/^(file|data):/.test(p.request.url)) problems.push(`network: ${p.request.url}`);
          } else if (method === "Network.loadingFailed") {
            // The media player cancels its own range requests once it has enough.
            if (!(p.type === "Media" && p.errorText === "net::ERR_ABORTED")) {
              problems.push(`request failed: ${p.type} ${p.errorText}`);
            }
          }
        });
        await tab.send("Runtime.enable");
        await tab.send("Log.enable");
        await tab.send("Network.enable");
        await tab.goto(`file://${page}`);
        // Videos: wait until each has decoded its first frame (or failed).
        const videos = await tab.evaluate<
          { src: string | null; w: number; error: string | null }[]
        >(
          `Promise.all([...document.querySelectorAll("video")].map((v) => new Promise((res) => {
            const done = () => res({ src: v.getAttribute("src"), w: v.videoWidth, error: v.error ? v.error.message || String(v.error.code) : null });
            if (v.readyState >= 2 || v.error) return done();
            v.addEventListener("loadeddata", done, { once: true });
            v.addEventListener("error", done, { once: true });
            setTimeout(done, 10000);
          })))`,
        );
        const facts = await tab.evaluate<{
          sections: string[];
          images: { src: string | null; w: number }[];
          plots: { id: string; marks: number }[];
          duplicateIds: string[];
          metricRows: number;
        }>(`(() => {
          const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
          return {
            sections: [...document.querySelectorAll("section[id]")].map((s) => s.id),
            images: [...document.images].map((i) => ({ src: i.getAttribute("src"), w: i.naturalWidth })),
            // Drawn marks: non-empty line/area/bar paths inside the SVG's mark groups.
            plots: [...document.querySelectorAll(".plot")].map((p) => ({
              id: p.id,
              marks: [...p.querySelectorAll("svg g[class*='mark-line'] path, svg g[class*='mark-area'] path, svg g[class*='mark-rect'] path")]
                .filter((e) => (e.getAttribute("d") || "").length > 10).length,
            })),
            duplicateIds: ids.filter((id, i) => ids.indexOf(id) !== i),
            metricRows: document.querySelectorAll("#metrics tr").length - 1,
          };
        })()`);
        await Deno.mkdir(ARTEFACTS, { recursive: true });
        await Deno.writeFile(join(ARTEFACTS, "demo_report.png"), await tab.screenshot());
        assert.deepEqual(problems, []);
        for (
          const s of ["glance", "steps", "videos", "plots", "metrics", "step-track", "step-compare"]
        ) assert.ok(facts.sections.includes(s), `section "${s}" in ${facts.sections.join(", ")}`);
        // Contact sheet + 4 spread frames (+ up to 2 articulation-change frames) + mouth strip.
        assert.ok(facts.images.length >= 6, JSON.stringify(facts.images));
        for (const i of facts.images) assert.ok(i.w > 0, `image ${i.src} loaded`);
        // Step time, the shared "driving" and "measured" plots, tracking quality, PSNR.
        assert.ok(facts.plots.length >= 5, JSON.stringify(facts.plots));
        for (const p of facts.plots) assert.ok(p.marks > 0, `plot ${p.id || "(step)"} has marks`);
        assert.ok(videos.length >= 2, "output and tracking preview videos");
        for (const v of videos) {
          assert.ok(v.w > 0 && v.error === null, `video ${v.src} plays: ${v.error}`);
        }
        assert.deepEqual(facts.duplicateIds, []);
        assert.ok(facts.metricRows >= 10, `${facts.metricRows} metric rows`);
      } finally {
        await tab.close();
      }
      // Keep the report itself beside the screenshot.
      await Deno.remove(join(ARTEFACTS, "demo_report"), { recursive: true }).catch(() => {});
      await new Deno.Command("cp", {
        args: ["-r", join(page, ".."), join(ARTEFACTS, "demo_report")],
      })
        .output();
    });
  },
});

if (!hasChromium) {
  Deno.test("report.html in a browser: skipped, Debian package `chromium` is not installed", () => {
    console.warn("skipping the browser test: install the Debian package `chromium`");
  });
}
