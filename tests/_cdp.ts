/**
 * A minimal headless-Chromium driver for browser tests, speaking the Chrome DevTools
 * Protocol over the browser's own WebSocket (no npm browser driver: the usual one
 * pulls `@types/node` into type checking and changes `node:assert`'s types for the
 * whole project). Debian's `chromium` runs with the flags that work on these machines.
 *
 * @module
 */

export const CHROMIUM = "/usr/bin/chromium";

type Json = Record<string, unknown>;
interface CdpEvent {
  method: string;
  params: Json;
}

/** One page of a headless Chromium. */
export class HeadlessPage {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, { res: (v: Json) => void; rej: (e: Error) => void }>();
  #listeners: ((e: CdpEvent) => void)[] = [];

  private constructor(ws: WebSocket, readonly close: () => Promise<void>) {
    this.#ws = ws;
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as {
        id?: number;
        result?: Json;
        error?: { message: string };
        method?: string;
        params?: Json;
      };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.rej(new Error(`CDP: ${msg.error.message}`));
        else p?.res(msg.result ?? {});
      } else if (msg.method) {
        for (const l of this.#listeners) l({ method: msg.method, params: msg.params ?? {} });
      }
    };
  }

  /** Start Chromium (fresh profile in `profileDir`) and connect to its first page. */
  static async launch(
    profileDir: string,
    viewport = { width: 1280, height: 900 },
  ): Promise<HeadlessPage> {
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--remote-debugging-port=0",
        `--user-data-dir=${profileDir}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let port = "";
    const deadline = Date.now() + 30_000;
    while (!port) {
      const { value, done } = await reader.read();
      if (done || Date.now() > deadline) {
        child.kill();
        throw new Error(`Chromium did not start its DevTools endpoint: ${buf.slice(-500)}`);
      }
      buf += value;
      port = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(buf)?.[1] ?? "";
    }
    // Keep draining stderr (dbus noise) so Chromium never blocks on a full pipe.
    (async () => {
      while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
    })();
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.type === "page");
    if (!target) throw new Error("Chromium has no page target");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = () => rej(new Error("Cannot connect to Chromium's DevTools"));
    });
    const page = new HeadlessPage(ws, async () => {
      ws.close();
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    });
    await page.send("Emulation.setDeviceMetricsOverride", {
      ...viewport,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  send(method: string, params: Json = {}): Promise<Json> {
    const id = this.#next++;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((res, rej) => this.#pending.set(id, { res, rej }));
  }

  on(listener: (e: CdpEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Navigate and wait for the load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((res) =>
      this.on((e) => {
        if (e.method === "Page.loadEventFired") res();
      })
    );
    await this.send("Page.enable");
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /** Evaluate an expression (awaiting a promise) and return its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails) throw new Error(`In the page: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }

  /** PNG of the whole page (beyond the viewport). */
  async screenshot(): Promise<Uint8Array> {
    const m = await this.send("Page.getLayoutMetrics") as {
      cssContentSize: { width: number; height: number };
    };
    const { width, height } = m.cssContentSize;
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: Math.ceil(width), height: Math.ceil(height), scale: 1 },
    }) as { data: string };
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }
}
