/**
 * The demo's HTML report in a real browser (Debian `chromium`, headless, driven by
 * puppeteer-core): no console errors, every image loaded, every plot has drawn marks,
 * the expected sections are there. Runs `workflows/demo.yaml` on the 2 s cut of the
 * demo footage (tracking 50 frames) to stay fast. Keeps a full-page screenshot at
 * `.cache/report_test/demo_report.png` (and the report folder beside it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseDocument } from "yaml";
import puppeteer from "puppeteer-core";
import { demoSpeechPath, REPO_ROOT, shortClipPath } from "../fixtures/mod.ts";
import { openMedia } from "../src/media/mod.ts";
import { dub, withTempDir } from "./_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
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

      const profile = join(dir, "chromium-profile");
      const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${profile}`,
        ],
      });
      try {
        const tab = await browser.newPage();
        await tab.setViewport({ width: 1280, height: 900 });
        const problems: string[] = [];
        tab.on("console", (m) => {
          if (m.type() === "error") problems.push(`console: ${m.text()}`);
        });
        tab.on("pageerror", (e) => problems.push(`page error: ${String(e)}`));
        tab.on("requestfailed", (q) => {
          // The media player cancels its own range requests (ERR_ABORTED) once it has enough.
          if (q.failure()?.errorText !== "net::ERR_ABORTED" || q.resourceType() !== "media") {
            problems.push(`request failed: ${q.url()} ${q.failure()?.errorText}`);
          }
        });
        // Offline: anything but file: (and the player's own data: icons) would be network use.
        tab.on("request", (q) => {
          if (!/^(file|data):/.test(q.url())) problems.push(`network request: ${q.url()}`);
        });
        await tab.goto(`file://${page}`, { waitUntil: "load" });
        // Videos: wait until each has decoded its first frame (or failed).
        const videos = await tab.evaluate(() =>
          Promise.all(
            [...document.querySelectorAll("video")].map((v) =>
              new Promise<{ src: string | null; w: number; error: string | null }>((res) => {
                const done = () =>
                  res({
                    src: v.getAttribute("src"),
                    w: v.videoWidth,
                    error: v.error?.message ?? null,
                  });
                if (v.readyState >= 2 || v.error) return done();
                v.addEventListener("loadeddata", done, { once: true });
                v.addEventListener("error", done, { once: true });
                setTimeout(done, 10_000);
              })
            ),
          )
        );
        const facts = await tab.evaluate(() => {
          const imgs = [...document.images];
          const plots = [...document.querySelectorAll(".plot")];
          const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
          return {
            sections: [...document.querySelectorAll("section[id]")].map((s) => s.id),
            images: imgs.map((i) => ({ src: i.getAttribute("src"), w: i.naturalWidth })),
            plots: plots.map((p) => ({
              id: p.id,
              // Drawn marks: non-empty line/area/bar paths and rects inside mark groups.
              marks: [...p.querySelectorAll(
                "svg g[class*='mark-line'] path, svg g[class*='mark-area'] path, svg g[class*='mark-rect'] path",
              )].filter((e) => (e.getAttribute("d") ?? "").length > 10).length,
            })),
            duplicateIds: ids.filter((id, i) => ids.indexOf(id) !== i),
            metricRows: document.querySelectorAll("#metrics tr").length - 1,
          };
        });
        await Deno.mkdir(ARTEFACTS, { recursive: true });
        await tab.screenshot({
          path: join(ARTEFACTS, "demo_report.png") as `${string}.png`,
          fullPage: true,
        });
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
        await browser.close();
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
