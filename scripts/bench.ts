/**
 * `deno task bench`: run every benchmark in bench/ in turn; each prints its own
 * numbers with its default (short) settings; run a script directly for its options.
 */
const files = [...Deno.readDirSync(new URL("../bench/", import.meta.url))]
  .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_"))
  .map((e) => e.name).sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== bench/${f}`);
  const s = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `bench/${f}`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!s.success) failed++;
}
Deno.exit(failed ? 1 : 0);
