import assert from "node:assert/strict";
import { join } from "node:path";
import { HOST_TAG, sweepPartials, writeFileAtomic } from "./atomic.ts";

/** A pid that runs no process here: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const c = new Deno.Command("true").spawn();
  await c.status;
  return c.pid;
}

Deno.test("sweepPartials() removes this machine's dead writers' temp files, keeps live ones and another machine's recent ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dub-atomic-" });
  try {
    const dead = await deadPid();
    const other = HOST_TAG === "0badc0de" ? "1badc0de" : "0badc0de";
    const names = {
      // This machine, its writer gone: swept.
      deadHere: `.a.mp4.dub-${HOST_TAG}-${dead}-0123abcd.partial`,
      // This machine, a live writer (this process): kept.
      liveHere: `.b.mp4.dub-${HOST_TAG}-${Deno.pid}-0123abcd.partial`,
      // Another machine sharing the folder: its pid means nothing here; kept while recent.
      otherRecent: `.c.mp4.dub-${other}-${dead}-0123abcd.partial`,
      // Another machine's, two days old: a leftover, swept.
      otherOld: `.d.mp4.dub-${other}-${dead}-89abcdef.partial`,
      // The older name without a host: judged by its pid.
      legacyDead: `.e.mp4.dub-${dead}-0123abcd.partial`,
    };
    for (const n of Object.values(names)) await Deno.writeTextFile(join(dir, n), "half");
    const old = new Date(Date.now() - 48 * 3600e3);
    await Deno.utime(join(dir, names.otherOld), old, old);
    assert.equal(await sweepPartials(dir), 3);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, [names.liveHere, names.otherRecent].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() leaves no temp file and its temp names carry this machine's tag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dub-atomic-" });
  try {
    const seen: string[] = [];
    const watcher = Deno.watchFs(dir);
    const p = join(dir, "x.json");
    const watching = (async () => {
      for await (const ev of watcher) {
        seen.push(...ev.paths);
        if (ev.paths.includes(p)) break;
      }
    })();
    await writeFileAtomic(p, "{}");
    await Promise.race([watching, new Promise((r) => setTimeout(r, 2000))]);
    watcher.close();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["x.json"]);
    const temps = seen.filter((s) => s.endsWith(".partial"));
    assert.ok(temps.length > 0, "the write went through a temp file");
    for (const t of temps) assert.match(t, new RegExp(`\\.dub-${HOST_TAG}-${Deno.pid}-`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
