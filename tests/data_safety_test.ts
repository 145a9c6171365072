/**
 * Data safety, run as a user would (the `dub` CLI): no file the run reads is ever
 * overwritten (by an output, the report or the cache, however the path names it),
 * conflicts are found before any step runs and by `dub validate`, and a clip's
 * outputs appear all together or not at all, whatever fails (disk full, read-only,
 * permissions, kill).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { demoSpeechPath, shortClipPath } from "../fixtures/mod.ts";
import { pidAlive } from "../src/atomic.ts";
import { openMedia } from "../src/media/mod.ts";
import {
  CAN_UNSHARE,
  dub,
  dubWithFault,
  dubWorkflow,
  events,
  listDir,
  mediaTest,
  UNSHARE_SKIP,
  withTempDir,
} from "./_helpers.ts";

const media = await openMedia();
const clip = await shortClipPath(media, 2);
const speech = await demoSpeechPath();
await media[Symbol.asyncDispose]?.();

/** A scene folder: footage, dialogue and a model file the run reads. */
async function scene(dir: string) {
  const footage = join(dir, "scene.mp4");
  const dialogue = join(dir, "line.wav");
  const model = join(dir, "model.onnx");
  await Deno.copyFile(clip, footage);
  await Deno.copyFile(speech, dialogue);
  await Deno.writeFile(model, new Uint8Array([1, 2, 3, 4]));
  const wf = join(dir, "wf.yaml");
  /** Writes `wf.yaml`: the short dub workflow on these files (`out`: output template), edited. */
  const writeWorkflow = (out?: string, edit: (text: string) => string = (t) => t) =>
    Deno.writeTextFile(
      wf,
      edit(dubWorkflow({ footage, dialogue, ...(out !== undefined ? { out } : {}) })),
    );
  return { footage, dialogue, model, wf, writeWorkflow };
}

mediaTest(
  "dub run/validate: any write onto a file the run reads is refused before any step runs (paths, symlinks, hard links, report, cache)",
  async () => {
    await withTempDir(async (dir) => {
      const s = await scene(dir);
      const wf = join(dir, "wf.yaml");
      await Deno.symlink(s.dialogue, join(dir, "link.mp4"));
      await Deno.link(s.footage, join(dir, "hard.mp4"));
      await Deno.symlink(dir, join(dir, "alias"));
      const models = `models:\n  m: model.onnx\n`;
      const cases: {
        name: string;
        out?: string;
        args?: string[];
        want: RegExp;
        validate?: boolean;
      }[] = [
        {
          name: "output = the workflow file",
          out: "wf.yaml",
          want: /output "dubbed" ".*wf_\d+\.yaml": it is the workflow file/,
          validate: true,
        },
        {
          name: "output = an input",
          out: "scene.mp4",
          want: /it is input "footage"/,
        },
        {
          name: "output = an input by another path",
          out: "alias/line.wav",
          want: /it is input "dialogue" .*by another path/,
        },
        {
          name: "output through a symlink to an input",
          out: "link.mp4",
          want: /it is input "dialogue" .*through a symlink/,
          validate: true,
        },
        {
          name: "output = a hard link of an input",
          out: "hard.mp4",
          want: /it is input "footage" .*hard link/,
          validate: true,
        },
        {
          name: "output = a model",
          out: "model.onnx",
          want: /it is model "m"/,
        },
        {
          name: "output inside the cache",
          out: "cache/steps/x.mp4",
          want: /inside the cache folder/,
        },
        {
          name: "--report = the footage",
          args: ["--report", s.footage],
          want: /Refusing to write the report \(--report\) ".*scene\.mp4": it is input "footage"/,
        },
        {
          name: "--report-html = the dialogue",
          args: ["--report-html", s.dialogue],
          want:
            /Refusing to write the HTML report \(--report-html\) ".*line\.wav": it is input "dialogue"/,
        },
        {
          name: "--report = an output",
          args: ["--report", join(dir, "out", "scene_dubbed.mp4")],
          want: /the report \(--report\) and output "dubbed" would both write/,
        },
      ];
      const inputs = [s.footage, s.dialogue, s.model];
      const before = await Promise.all(inputs.map((p) => Deno.readFile(p)));
      // Three cases at a time (each a separate dub process, workflow file and cache).
      const runCase = async (c: (typeof cases)[number], i: number) => {
        const wfi = join(dir, `wf_${i}.yaml`);
        const cachei = join(dir, `cache_${i}`);
        const out = c.out === "wf.yaml"
          ? `wf_${i}.yaml`
          : c.out === "cache/steps/x.mp4"
          ? `cache_${i}/steps/x.mp4`
          : c.out;
        const text = dubWorkflow({
          footage: "scene.mp4",
          dialogue: "line.wav",
          ...(out ? { out } : {}),
          extra: models,
        });
        await Deno.writeTextFile(wfi, text);
        const r = await dub([wfi, "--cache-dir", cachei, ...(c.args ?? [])]);
        assert.equal(r.code, 2, `${c.name}: ${r.stderr}`);
        assert.match(r.stderr, c.want, c.name);
        assert.match(r.stderr, /\nhint: /, c.name);
        assert.doesNotMatch(r.stderr, /\s+at .*\.ts:\d+/, `${c.name}: no stack trace`);
        assert.equal(await Deno.readTextFile(wfi), text, `${c.name}: the workflow is intact`);
        assert.deepEqual(listDir(join(cachei, "steps")), [], `${c.name}: no step ran`);
        if (c.validate) {
          const v = await dub(["validate", wfi]);
          assert.equal(v.code, 2, `validate, ${c.name}: ${v.stdout}`);
          assert.match(v.stderr, c.want, `validate, ${c.name}`);
        }
      };
      for (let k = 0; k < cases.length; k += 3) {
        await Promise.all(cases.slice(k, k + 3).map((c, j) => runCase(c, k + j)));
      }
      for (let k = 0; k < inputs.length; k++) {
        assert.deepEqual(await Deno.readFile(inputs[k]!), before[k], `${inputs[k]} is intact`);
      }
      // The same workflow with a harmless output is valid and runs.
      await Deno.writeTextFile(
        wf,
        dubWorkflow({ footage: "scene.mp4", dialogue: "line.wav", extra: models }),
      );
      assert.equal((await dub(["validate", wf])).code, 0);
    });
  },
);

mediaTest(
  "dub run: a batch clip whose output would overwrite its own input fails alone, the others are written",
  async () => {
    await withTempDir(async (dir) => {
      const clips = join(dir, "clips");
      await Deno.mkdir(clips);
      await Deno.mkdir(join(dir, "out"));
      for (const c of ["a", "b"]) {
        await Deno.copyFile(clip, join(clips, `${c}.mp4`));
        await Deno.copyFile(speech, join(clips, `${c}.wav`));
      }
      // b's output path is a symlink to b's footage.
      await Deno.symlink(join(clips, "b.mp4"), join(dir, "out", "b.mp4"));
      const before = await Deno.readFile(join(clips, "b.mp4"));
      const wf = join(dir, "wf.yaml");
      await Deno.writeTextFile(
        wf,
        dubWorkflow({ footage: clip, dialogue: null, out: "out/{stem}.mp4" }) +
          `batch:\n  clips: clips\n`,
      );
      const r = await dub([wf, "--json", "--cache-dir", join(dir, "cache")]);
      assert.equal(r.code, 4, r.stderr);
      const summary = events(r.stdout).find((e) => e.type === "summary") as {
        ok: number;
        failedClips: { clip: string; error: string }[];
      };
      assert.equal(summary.ok, 1);
      assert.deepEqual(summary.failedClips.map((f) => f.clip), ["b.mp4"]);
      assert.match(summary.failedClips[0]!.error, /it is input "footage" .*through a symlink/);
      assert.deepEqual(await Deno.readFile(join(clips, "b.mp4")), before);
      assert.ok(Deno.lstatSync(join(dir, "out", "b.mp4")).isSymlink, "the symlink is untouched");
      assert.equal((await Deno.stat(join(dir, "out", "a.mp4"))).isFile, true);
    });
  },
);

mediaTest(
  "dub run: disk full while publishing leaves no output of the clip, not even a partial one",
  async () => {
    await withTempDir(async (dir) => {
      const s = await scene(dir);
      const wf = s.wf;
      // Two outputs: the small probe JSON fits in the 32 KiB disk, the video does not.
      await s.writeWorkflow("out/{stem}_dubbed.mp4", (t) =>
        t.replace(
          "outputs:\n",
          'outputs:\n  info:\n    from: "${{ steps.probe.outputs.info }}"\n    path: out/{stem}.json\n',
        ));
      const r = await dubWithFault("enospc", join(dir, "out"), [
        wf,
        "--cache-dir",
        join(dir, "cache"),
        "--no-report-html",
      ], { sizeKiB: 32 });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /Cannot write output ".*": no space left on the disk holding/);
      assert.match(r.stderr, /no output of this clip was written/);
      assert.match(r.stderr, /hint: free disk space/);
      assert.doesNotMatch(r.stderr, /\s+at .*\.ts:\d+/);
      assert.deepEqual(r.left, [], "nothing (not even a temp file) is left in out/");
    });
  },
  { ignore: !CAN_UNSHARE },
);
if (!CAN_UNSHARE) console.log(`skip: disk-full and read-only tests: ${UNSHARE_SKIP}`);

mediaTest(
  "dub run: read-only or forbidden output folders, read-only caches and bad report paths fail before any step with exit 2, the path and what to do",
  async () => {
    await withTempDir(async (dir) => {
      const s = await scene(dir);
      const wf = s.wf;
      await s.writeWorkflow("out/{stem}_dubbed.mp4");
      const cache = join(dir, "cache");
      const noTrace = (r: { stderr: string }, what: string) =>
        assert.doesNotMatch(r.stderr, /\s+at .*\.ts:\d+/, `${what}: no stack trace`);
      // Output folder on a read-only file system.
      const ro = await dubWithFault("erofs", join(dir, "out"), [wf, "--cache-dir", cache]);
      assert.equal(ro.code, 2, ro.stderr);
      assert.match(
        ro.stderr,
        /Cannot write output folder ".*out": ".*out" is on a read-only file system/,
      );
      assert.match(ro.stderr, /hint: change the output path/);
      noTrace(ro, "erofs");
      assert.deepEqual(listDir(join(cache, "steps")), [], "no step ran");
      // Output folder without write permission.
      await s.writeWorkflow("out2/{stem}_dubbed.mp4");
      const na = await dubWithFault("eacces", join(dir, "out2"), [wf, "--cache-dir", cache]);
      assert.equal(na.code, 2, na.stderr);
      assert.match(na.stderr, /Cannot write output folder ".*out2": no permission to write in/);
      noTrace(na, "eacces");
      // Read-only cache folder.
      await Deno.chmod(join(dir, "out2"), 0o755);
      const rc = await dubWithFault("erofs", cache, [wf, "--cache-dir", cache]);
      assert.equal(rc.code, 2, rc.stderr);
      assert.match(rc.stderr, /Cannot write cache folder ".*cache": .*read-only file system/);
      assert.match(rc.stderr, /hint: pass --cache-dir/);
      noTrace(rc, "read-only cache");
      // A cache "folder" that is a file.
      const file = join(dir, "cachefile");
      await Deno.writeTextFile(file, "x");
      const cf = await dub([wf, "--cache-dir", file]);
      assert.equal(cf.code, 2, cf.stderr);
      assert.match(cf.stderr, /Cannot use cache folder ".*cachefile": it is a file, not a folder/);
      noTrace(cf, "cache file");
      // A report path below a file.
      const rf = await dub([wf, "--cache-dir", cache, "--report", join(file, "r.json")]);
      assert.equal(rf.code, 2, rf.stderr);
      assert.match(
        rf.stderr,
        /Cannot write report \(--report\) ".*r\.json": ".*cachefile" is a file/,
      );
      noTrace(rf, "report under a file");
      assert.deepEqual(listDir(join(cache, "steps")), [], "no step ran in any case");
      // A report in a missing folder is fine: the folder is created.
      const ok = await dub([wf, "--cache-dir", cache, "--report", join(dir, "new", "r.json")]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(JSON.parse(await Deno.readTextFile(join(dir, "new", "r.json"))).clips);
    });
  },
  { ignore: !CAN_UNSHARE },
);

mediaTest(
  "dub run: temp files of a killed run in the output folder are swept; a live writer's (or our own) are kept",
  async () => {
    await withTempDir(async (dir) => {
      const s = await scene(dir);
      const wf = s.wf;
      await s.writeWorkflow();
      await Deno.mkdir(join(dir, "out"));
      // A zombie (exited, never reaped): its pid exists in /proc but it is dead.
      const z = await new Deno.Command("sh", {
        args: ["-c", "sleep 0 & echo $!; exec sleep 120"],
        stdout: "piped",
      }).spawn();
      const reader = z.stdout.getReader();
      const zpid = Number(new TextDecoder().decode((await reader.read()).value).trim());
      reader.releaseLock();
      await new Promise((r) => setTimeout(r, 300));
      if (Deno.build.os === "linux") assert.equal(pidAlive(zpid), false, "a zombie is not alive");
      const dead = `.scene_dubbed.mp4.dub-${zpid}-0123abcd.partial`;
      const live = `.scene_dubbed.mp4.dub-${z.pid}-89abcdef.partial`;
      await Deno.writeTextFile(join(dir, "out", dead), "half");
      await Deno.writeTextFile(join(dir, "out", live), "writing");
      const r = await dub([wf, "--cache-dir", join(dir, "cache"), "--no-report-html"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listDir(join(dir, "out")), [live, "scene_dubbed.mp4"].sort());
      try {
        z.kill();
      } catch { /* already gone */ }
      await z.status;
      await z.stdout.cancel().catch(() => {});
    });
  },
);

mediaTest(
  "dub run/validate: the default HTML report folder is checked against the files the run reads before any step",
  async () => {
    await withTempDir(async (dir) => {
      // The single-clip report goes to <output folder>/<workflow name>_report/; an input inside
      // it is refused before any step runs (as for --report-html's pictures folder).
      const inside = join(dir, "out", "rep_report");
      await Deno.mkdir(inside, { recursive: true });
      const footage = join(inside, "scene.mp4");
      await Deno.copyFile(clip, footage);
      const before = await Deno.readFile(footage);
      const wf = join(dir, "wf.yaml");
      await Deno.writeTextFile(
        wf,
        [
          "version: 1",
          "name: rep",
          "inputs:",
          "  footage: { type: file, default: out/rep_report/scene.mp4 }",
          "steps:",
          "  - id: probe",
          "    uses: media.probe",
          '    with: { input: "${{ inputs.footage }}" }',
          "  - id: enc",
          "    uses: video.encode",
          '    with: { video: "${{ inputs.footage }}", preset: ultrafast }',
          "outputs:",
          '  v: { from: "${{ steps.enc.outputs.video }}", path: "out/{stem}_x.mp4" }',
          "",
        ].join("\n"),
      );
      const r = await dub(["run", wf, "--cache-dir", join(dir, "cache")]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /Refusing to write the HTML report's folder ".*rep_report": .*is inside it/,
      );
      assert.deepEqual(await Deno.readFile(footage), before);
      assert.deepEqual(listDir(join(dir, "cache", "steps")), [], "no step ran");
      // With the HTML report off the same run is fine.
      const ok = await dub(["run", wf, "--cache-dir", join(dir, "cache"), "--no-report-html"]);
      assert.equal(ok.code, 0, ok.stderr);
    });
  },
);
