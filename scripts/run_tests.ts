/**
 * `deno task test`: fetch fixtures once, run `deno test`, and end with a plain
 * totals line `N passed, N failed, N skipped` for CI records.
 */
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
const child = new Deno.Command(deno, {
  args: ["test", "-A", ...Deno.args],
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
