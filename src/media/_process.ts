/**
 * The one place that spawns processes. Keeps the tail of stderr for errors and
 * reports the full command line through `log` (shown with --verbose).
 *
 * @module
 */
import { MediaError } from "../errors.ts";

export type LogFn = (line: string) => void;

/** Quote a command line for display. */
export function showCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((
    a,
  ) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** Keep the last `max` characters of a stream of text. */
export class TailBuffer {
  #text = "";
  constructor(readonly max = 4000) {}
  push(chunk: string): void {
    this.#text = (this.#text + chunk).slice(-this.max);
  }
  get text(): string {
    return this.#text.trim();
  }
}

export interface SpawnOptions {
  log?: LogFn | undefined;
  signal?: AbortSignal | undefined;
  stdin?: "piped" | "null";
  stdout?: "piped" | "null";
}

/** A running child process with its stderr tail collected in the background. */
export interface Spawned {
  child: Deno.ChildProcess;
  stderr: TailBuffer;
  stderrDone: Promise<void>;
  command: string;
  /** Wait for exit; throws a MediaError with the stderr tail on a non-zero status. */
  wait(what: string): Promise<void>;
  kill(): void;
}

export function spawn(
  cmd: string,
  args: string[],
  opts: SpawnOptions = {},
): Spawned {
  const command = showCommand(cmd, args);
  opts.log?.(`$ ${command}`);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: opts.stdin ?? "null",
      stdout: opts.stdout ?? "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new MediaError(`Cannot start "${cmd}": ${(e as Error).message}`, {
      hint: "install ffmpeg or use --media wasm",
      cause: e,
    });
  }
  const stderr = new TailBuffer();
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr.push(dec.decode(chunk, { stream: true }));
    }
  })().catch(() => {});
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  const onAbort = () => kill();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) kill();
  return {
    child,
    stderr,
    stderrDone,
    command,
    kill,
    async wait(what: string) {
      const status = await child.status;
      await stderrDone;
      opts.signal?.removeEventListener("abort", onAbort);
      if (opts.signal?.aborted) {
        throw opts.signal.reason ?? new Error("Aborted");
      }
      if (!status.success) {
        throw new MediaError(
          `${what}: ffmpeg exited with code ${status.code}: ${lastLines(stderr.text)}`,
          {
            hint: "run with --verbose to see the full command",
          },
        );
      }
    },
  };
}

/** Last few lines of a text (for error messages). */
export function lastLines(text: string, n = 3): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.slice(-n).join(" | ") || "(no error output)";
}

/** Is a command on PATH and runnable? */
export async function which(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}
