/**
 * Data loaders on one small real clip of each source. The packages are found
 * installed (`apt-get install …`, as `.ci/run` does for the small asterisk
 * ones) or in the content cache that `deno task train:audio-prior` fills;
 * otherwise the test skips naming the packages. Nothing is downloaded here.
 */
import assert from "node:assert/strict";
import { installedOrCached } from "./debian.ts";
import { haveSphinx } from "./phone_align.ts";
import { type ClipSpec, decode16k, listShardIn, shardByName } from "./real_corpus.ts";

interface Case {
  shard: string;
  /** A file of each package that tells where it is unpacked. */
  probes: string[];
  id: string;
  speaker: string;
  text: string;
}

const CASES: Case[] = [
  {
    shard: "asterisk-en",
    probes: [
      "usr/share/asterisk/sounds/en_US_f_Allison/vm-deleted.g722",
      "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
    ],
    id: "vm-deleted",
    speaker: "en_US_f_Allison",
    text: "Message deleted.",
  },
  {
    shard: "fillets-cs",
    probes: [
      "usr/share/games/fillets-ng/sound/city/cs/vit-hs-vitejteA.ogg",
      "usr/share/games/fillets-ng/script/city/dialogs_cs.lua",
    ],
    id: "city/vit-hs-vitejteA",
    speaker: "font_statue",
    text: "Vítejte v nejkrásnějším městě pod sluncem.",
  },
  {
    shard: "fillets-nl",
    probes: [
      "usr/share/games/fillets-ng/sound/airplane/nl/let-m-divna.ogg",
      "usr/share/games/fillets-ng/script/airplane/dialogs_nl.lua",
    ],
    id: "airplane/let-m-divna",
    speaker: "font_small",
    text: "Wat is dit voor raar schip?",
  },
  {
    shard: "tuxpaint-fr",
    probes: ["usr/share/tuxpaint/stamps/household/dishes/coffeecup_desc_fr.ogg"],
    id: "household/dishes/coffeecup_desc_fr.ogg",
    speaker: "tuxpaint-fr",
    text: "Une tasse de café.",
  },
];

let ffmpeg = true;
try {
  await new Deno.Command("ffmpeg", { args: ["-version"], stdout: "null", stderr: "null" }).output();
} catch {
  ffmpeg = false;
}
const sphinx = await haveSphinx();

for (const c of CASES) {
  const spec = shardByName(c.shard);
  const roots: string[] = [];
  for (let i = 0; i < spec.packages.length; i++) {
    const r = await installedOrCached(
      spec.packages[i]!,
      c.probes[Math.min(i, c.probes.length - 1)]!,
    );
    if (r) roots.push(r);
  }
  const ready = roots.length === spec.packages.length && ffmpeg;
  if (!ready) {
    console.log(
      `Skipping the ${c.shard} loader test: needs Debian packages ${spec.packages.join(", ")} ` +
        `(installed, or fetched by deno task train:audio-prior) and ffmpeg`,
    );
  }
  Deno.test({
    name: `${c.shard}: lists clips with transcripts, decodes one to 16 kHz speech, aligns it`,
    ignore: !ready,
    fn: async () => {
      const clips = await listShardIn(spec, roots);
      assert.ok(clips.length > 50, `${clips.length} clips`);
      const clip = clips.find((x) => x.id === c.id) as ClipSpec;
      assert.ok(clip, `clip ${c.id} not listed`);
      assert.equal(clip.text, c.text);
      assert.equal(clip.speaker, c.speaker);
      assert.equal(clip.language, spec.voice);
      const [x] = (await decode16k([clip.path])) as [Float32Array];
      const durS = x.length / 16000;
      // Read speech runs at 8–20 characters per second; allow leading/trailing silence.
      const chars = c.text.length;
      assert.ok(durS > chars / 25 && durS < chars / 4 + 2, `${durS} s for ${chars} characters`);
      let peak = 0, sum = 0;
      for (const v of x) {
        peak = Math.max(peak, Math.abs(v));
        sum += v * v;
      }
      // Vorbis decodes to float and may overshoot 1 (1.21 measured on fillets-cs).
      assert.ok(peak > 0.05 && peak < 4, `peak ${peak}`);
      assert.ok(Math.sqrt(sum / x.length) > 0.005, "too quiet for speech");
      if (!sphinx) {
        console.log("Alignment part skipped: apt-get install pocketsphinx pocketsphinx-en-us");
        return;
      }
      const { Espeak } = await import("./corpus.ts");
      const { alignPhones } = await import("./phone_align.ts");
      const { alignmentOk } = await import("./real_corpus.ts");
      const espeak = await Espeak.create();
      const ids = espeak.synthesize(clip.text, clip.language).phonemes.map((p) => p.id);
      // Each shard's own alignment settings and squeeze limit (fillets-nl has its own).
      const [a] = await alignPhones([{ id: clip.id, samples: x, phonemes: ids }], spec.align ?? {});
      assert.ok(
        a!.found && alignmentOk(a!, spec.align?.maxSqueezed),
        `alignment ${JSON.stringify({ ...a, phonemes: 0 })}`,
      );
      assert.ok(a!.phonemes.length >= ids.filter((i) => i).length * 0.8, "phonemes lost");
      assert.ok(a!.phonemes.at(-1)!.endS <= durS + 0.02);
    },
  });
}
