import { HeadlessPage } from "./tests/_cdp.ts";
const t = await HeadlessPage.launch(await Deno.makeTempDir(), { width: 1280, height: 700 });
await t.goto("file://" + Deno.args[0]);
await Deno.writeFile(Deno.args[1]!, await t.screenshot());
await t.close();
