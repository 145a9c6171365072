/**
 * `deno task test`: fetch fixtures once, run `deno test`, and end with a plain
 * totals line `N passed, N failed, N skipped` for CI records.
 *
 * `deno task test --bare [files…]` runs the tests as on a machine without Debian's
 * ffmpeg: native ffmpeg/ffprobe are hidden from PATH (every other program stays
 * reachable), so the media code takes the embedded ffmpeg.wasm path. Without files
 * it runs {@link BARE_TESTS}, the tests whose results depend on how frames were
 * decoded (tracking thresholds, runner end to end).
 */
const BARE_TESTS = [
  "src/track/tracker_test.ts",
  "src/track/detector_test.ts",
  "src/stages/face_track_test.ts",
  "tests/workflow_run_test.ts",
];

const deno = Deno.execPath();
const fx = await new Deno.Command(deno, {
  args: ["run", "-A", "scripts/fixtures.ts"],
  stdout: "null",
})
  .output();
if (!fx.success) {
  console.error("warning: fixtures could not be prepared; tests that need them will fail");
}

// Mesa's Vulkan driver (WebGPU tests) wants a private runtime dir.
const env: Record<string, string> = { NO_COLOR: "1" };
if (Deno.build.os === "linux" && !Deno.env.get("XDG_RUNTIME_DIR")) {
  env.XDG_RUNTIME_DIR = await Deno.makeTempDir({ prefix: "dub-xdg-" });
  await Deno.chmod(env.XDG_RUNTIME_DIR, 0o700);
}

let args = [...Deno.args];
let hidden: string | null = null;
if (args[0] === "--bare") {
  args = args.slice(1);
  if (args.filter((a) => !a.startsWith("-")).length === 0) args.push(...BARE_TESTS);
  hidden = await pathWithout(["ffmpeg", "ffprobe"]);
  env.PATH = hidden;
  console.log(`bare machine: ffmpeg and ffprobe hidden from PATH; running ${args.join(" ")}`);
}

/** A PATH of one folder linking every program on PATH except `hide`. */
async function pathWithout(hide: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dub-bare-path-" });
  const seen = new Set(hide);
  for (const p of (Deno.env.get("PATH") ?? "").split(":")) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(p)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      await Deno.symlink(`${p}/${e.name}`, `${dir}/${e.name}`).catch(() => {});
    }
  }
  return dir;
}

const child = new Deno.Command(deno, {
  args: ["test", "-A", ...args],
  stdout: "piped",
  stderr: "inherit",
  env,
}).spawn();
let tail = "";
const dec = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + dec.decode(chunk, { stream: true })).slice(-4000);
}
const status = await child.status;
if (hidden) await Deno.remove(hidden, { recursive: true }).catch(() => {});
const m =
  /(\d+) passed(?:\s*\((\d+) steps?\))?\s*\|\s*(\d+) failed(?:\s*\((\d+) steps?\))?(?:\s*\|\s*(\d+) ignored)?/
    .exec(tail);
if (m) {
  console.log(`${m[1]} passed, ${m[3]} failed, ${m[5] ?? 0} skipped`);
} else {
  console.log(`0 passed, 1 failed, 0 skipped`);
  console.error("deno test did not print its totals (it may have crashed)");
}
Deno.exit(status.code);
