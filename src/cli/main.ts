/**
 * The `dub` command line. The only place that prints to the terminal or exits.
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { resolve } from "node:path";
import { z } from "zod";
import { DubError } from "../errors.ts";
import { type MediaChoice, openMedia } from "../media/mod.ts";
import { STAGES } from "../stages/mod.ts";
import type { Executor } from "../workflow/executor.ts";
import { type LoadedWorkflow, loadWorkflow } from "../workflow/load.ts";
import { planWorkflow } from "../workflow/plan.ts";
import { clipJobs, preflight, runWorkflow } from "../workflow/run.ts";
import { registerSplatCommands } from "./splat_cmd.ts";
import { EXIT, exitCodeFor } from "./exit_codes.ts";
import { cmdRunQueue, queueUrl, registerQueueCommands } from "./queue_cmd.ts";
import { humanRenderer, jsonRenderer } from "./progress.ts";
import { ensureXdgRuntimeDir } from "./runtime_dir.ts";
import { REGISTRY } from "../stages/mod.ts";

const VERSION = "0.1.0";
const enc = new TextEncoder();
/**
 * Write a whole line; once the reader has gone (EPIPE: `dub --json | jq` and jq
 * died of the same Ctrl-C), drop output quietly instead of failing the run.
 */
function writer(stream: typeof Deno.stdout): (s: string) => void {
  let closed = false;
  return (s: string) => {
    if (closed) return;
    const bytes = enc.encode(s + "\n");
    try {
      let n = 0;
      while (n < bytes.length) n += stream.writeSync(bytes.subarray(n));
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) closed = true;
      else throw e;
    }
  };
}
const out = writer(Deno.stdout);
const err = writer(Deno.stderr);

interface GlobalOpts {
  cacheDir?: string;
  media: MediaChoice;
  json?: boolean;
  verbose?: boolean;
  set: string[];
  force?: boolean;
  forceStep?: string;
  concurrency?: number;
  batch?: string;
  report?: string;
  queue?: string;
  detach?: boolean;
  attempts?: number;
  reportHtml?: string | false;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function cacheDirFor(opts: GlobalOpts, workflowDir: string): string {
  return resolve(
    opts.cacheDir ?? Deno.env.get("DUB_CACHE_DIR") ?? resolve(workflowDir, ".dub-cache"),
  );
}

function addRunOptions(cmd: Command): Command {
  return cmd
    .option(
      "--set <key=value>",
      "override an input (name=value) or a step parameter (step.param=value); repeatable",
      collect,
      [],
    )
    .option(
      "--cache-dir <dir>",
      "step cache folder (default: $DUB_CACHE_DIR or .dub-cache next to the workflow)",
    )
    .addOption(
      new Option("--media <backend>", "media backend").choices(["auto", "native", "wasm"]).default(
        "auto",
      ),
    )
    .option("--force", "re-run every step, ignoring the cache")
    .option("--force-step <id>", "re-run only this step (and whatever its new output changes)")
    .option("--concurrency <n>", "clip jobs at once in a batch", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        throw new DubError("usage", `Invalid --concurrency "${v}"`, {
          hint: "pass a positive integer",
        });
      }
      return n;
    })
    .option("--batch <folder|glob>", "run the workflow over every clip in a folder or glob")
    .option("--report <file>", "also write the JSON run report here")
    .option(
      "--queue <url>",
      "run the clips on `dub worker`s through Redis: redis://[:PASSWORD@]HOST:PORT or rediss://…",
      queueUrl,
    )
    .option("--detach", "with --queue: enqueue, print the batch id and return (see dub status)")
    .option(
      "--attempts <n>",
      "with --queue: tries per clip before it is reported failed (default 2)",
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) {
          throw new DubError("usage", `Invalid --attempts "${v}"`, {
            hint: "pass a positive integer",
          });
        }
        return n;
      },
    )
    .option(
      "--report-html <file>",
      "write the HTML report page here (default: <output folder>/<clip>_report/report.html)",
    )
    .option("--no-report-html", "do not write the HTML report")
    .option("--json", "NDJSON events on stdout (for CI)")
    .option("--verbose", "show ffmpeg command lines, step logs and error causes");
}

/** `--force` / `--force-step ID` → the runner's `force` option (validated). */
function forceOption(
  opts: GlobalOpts,
  wf: { file: { steps: { id: string }[] } },
): boolean | string | undefined {
  if (opts.forceStep !== undefined) {
    if (!wf.file.steps.some((s) => s.id === opts.forceStep)) {
      throw new DubError("usage", `--force-step: the workflow has no step "${opts.forceStep}"`, {
        hint: `steps: ${wf.file.steps.map((s) => s.id).join(", ")}`,
      });
    }
    return opts.forceStep;
  }
  return opts.force ? true : undefined;
}

function printError(e: unknown, verbose: boolean): void {
  err(`error: ${(e as Error).message}`);
  if (e instanceof DubError && e.hint) err(`hint: ${e.hint}`);
  if (verbose) {
    if (!(e instanceof DubError)) err((e as Error).stack ?? "");
    let c = (e as Error).cause;
    while (c) {
      err(`caused by: ${c instanceof Error ? c.stack ?? c.message : String(c)}`);
      c = c instanceof Error ? c.cause : undefined;
    }
  } else if (!(e instanceof DubError)) {
    err("hint: this looks like a bug in dub; run again with --verbose for details and report it");
  }
}

async function cmdRun(file: string, opts: GlobalOpts): Promise<number> {
  if (opts.queue !== undefined) {
    const force = opts.forceStep ?? (opts.force ? true : undefined);
    return await cmdRunQueue(file, {
      ...opts,
      queue: opts.queue,
      ...(force !== undefined ? { force } : {}),
      run: (wf, executor) => runLoaded(wf, opts, executor),
    });
  }
  if (opts.detach) {
    throw new DubError("usage", "--detach needs --queue", {
      hint: "pass --queue redis://HOST:PORT",
    });
  }
  return await runLoaded(await loadWorkflow(file, { registry: REGISTRY, sets: opts.set }), opts);
}

/** Run a loaded workflow here, or with `executor` (a queue): progress, reports, exit code. */
async function runLoaded(
  wf: LoadedWorkflow,
  opts: GlobalOpts,
  executor?: Executor,
): Promise<number> {
  const force = forceOption(opts, wf);
  const renderer = opts.json
    ? jsonRenderer(out)
    : humanRenderer({ tty: Deno.stderr.isTerminal(), verbose: !!opts.verbose, err });
  const verboseLog = opts.verbose && !opts.json ? (l: string) => err(`  ${l}`) : undefined;
  await using media = await openMedia({
    backend: opts.media,
    ...(verboseLog ? { log: verboseLog } : {}),
  });
  const ac = new AbortController();
  const onSig = () => {
    if (!ac.signal.aborted) {
      err(
        "interrupting: stopping the current step (Ctrl-C again to quit at once); run again to resume",
      );
      ac.abort(new DubError("interrupted", "Interrupted"));
    } else {
      Deno.exit(EXIT.interrupted);
    }
  };
  Deno.addSignalListener("SIGINT", onSig);
  Deno.addSignalListener("SIGTERM", onSig);
  const clipErrors = new Map<string, unknown>();
  let html: string | undefined;
  try {
    const report = await runWorkflow(wf, {
      onClipError: (clip, e) => clipErrors.set(clip, e),
      cacheDir: cacheDirFor(opts, wf.dir),
      media,
      ...(force !== undefined ? { force } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.batch !== undefined ? { batch: opts.batch } : {}),
      ...(opts.report !== undefined ? { reportPath: opts.report } : {}),
      ...(opts.reportHtml !== undefined ? { reportHtml: opts.reportHtml } : {}),
      ...(executor ? { executor } : {}),
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === "report_written") html = e.path;
        renderer.onEvent(e);
      },
    });
    renderer.stop();
    if (ac.signal.aborted) return EXIT.interrupted;
    const failed = report.clips.filter((c) => c.status === "failed");
    if (failed.length === 0) return EXIT.ok;
    const isBatch = report.clips.length > 1 || wf.file.batch !== undefined ||
      opts.batch !== undefined;
    if (isBatch) return EXIT.batchPartial;
    const c = failed[0]!;
    if (!opts.json) {
      const ex = clipErrors.get(c.clip);
      printError(
        ex ?? new DubError("step", c.error ?? "failed", c.hint ? { hint: c.hint } : undefined),
        !!opts.verbose,
      );
    }
    return c.errorKind === "workflow" || c.errorKind === "usage"
      ? EXIT.usage
      : c.errorKind === "interrupted"
      ? EXIT.interrupted
      : EXIT.stepFailed;
  } finally {
    Deno.removeSignalListener("SIGINT", onSig);
    Deno.removeSignalListener("SIGTERM", onSig);
    renderer.stop();
    // The terminal ends with the page to open.
    if (html && !opts.json) err(`report: ${html}`);
  }
}

/** Describe a zod schema field for `dub steps`. */
function describeField(s: z.ZodType): string {
  const j = z.toJSONSchema(s, { unrepresentable: "any", io: "input" }) as Record<string, unknown>;
  const type = j.enum
    ? (j.enum as unknown[]).map((x) => JSON.stringify(x)).join("|")
    : String(j.type ?? "any");
  const parts = [type];
  if (j.default !== undefined) parts.push(`default ${JSON.stringify(j.default)}`);
  if (j.minimum !== undefined) parts.push(`≥ ${j.minimum}`);
  if (j.maximum !== undefined && Number(j.maximum) < Number.MAX_SAFE_INTEGER) {
    parts.push(`≤ ${j.maximum}`);
  }
  return parts.join(", ") + (j.description ? ` — ${j.description}` : "");
}

export function buildProgram(): Command {
  const program = new Command("dub")
    .description(
      "Dub film footage: re-render the speaker's mouth to follow a translated dialogue track",
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => Deno.stdout.writeSync(enc.encode(s)),
      writeErr: (s) => Deno.stderr.writeSync(enc.encode(s)),
    })
    .showHelpAfterError();
  const codes: { code: number } = { code: EXIT.ok };

  addRunOptions(
    program.command("run").argument("<workflow>", "workflow YAML file").description(
      "run a workflow (also: dub WORKFLOW.yaml)",
    ),
  )
    .action(async (file: string, opts: GlobalOpts) => {
      codes.code = await cmdRun(file, opts);
    });

  program.command("validate").argument("<workflow>").description(
    "check a workflow file and print its step order",
  )
    .option("--set <key=value>", "override an input or step parameter", collect, [])
    .option("--json", "print the result as JSON")
    .action(async (file: string, opts: { set: string[]; json?: boolean }) => {
      const wf = await loadWorkflow(file, { registry: REGISTRY, sets: opts.set });
      // Outputs that would overwrite the workflow, an input or a model are invalid.
      // (A batch whose clips folder does not exist yet is checked at run time.)
      const jobs = await clipJobs(wf).catch(() => []);
      await preflight(wf, jobs, {
        cacheDir: cacheDirFor({ media: "auto", set: [] }, wf.dir),
        batch: false,
        checkWritable: false,
      });
      if (opts.json) {
        out(JSON.stringify({ valid: true, workflow: wf.path, order: wf.order.map((s) => s.id) }));
      } else {out(`${file}: valid; ${wf.order.length} steps: ${
          wf.order.map((s) => s.id).join(" → ")
        }`);}
    });

  addRunOptions(
    program.command("plan").argument("<workflow>").description(
      "show which steps are cached and which will run, and why",
    ),
  )
    .action(async (file: string, opts: GlobalOpts) => {
      const wf = await loadWorkflow(file, { registry: REGISTRY, sets: opts.set });
      const plans = await planWorkflow(wf, {
        cacheDir: cacheDirFor(opts, wf.dir),
        ...(forceOption(opts, wf) !== undefined ? { force: forceOption(opts, wf)! } : {}),
        ...(opts.batch !== undefined ? { batch: opts.batch } : {}),
      });
      if (opts.json) {
        out(JSON.stringify(plans));
        return;
      }
      for (const p of plans) {
        out(`${p.clip}:`);
        for (const s of p.steps) out(`  ${s.status.padEnd(7)} ${s.id} (${s.uses}): ${s.reason}`);
      }
    });

  program.command("steps").description(
    "list the registered step types with their parameters and outputs",
  )
    .option("--json", "print as JSON")
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        out(JSON.stringify(
          STAGES.map((s) => ({
            type: s.type,
            version: s.version,
            description: s.description,
            params: z.toJSONSchema(s.params, { unrepresentable: "any", io: "input" }),
            fileParams: s.fileParams,
            outputs: s.outputs,
          })),
          null,
          2,
        ));
        return;
      }
      for (const s of STAGES) {
        out(`${s.type} (v${s.version}) — ${s.description}`);
        out("  with:");
        for (const [k, f] of Object.entries(s.params.shape as Record<string, z.ZodType>)) {
          out(`    ${k}${s.fileParams.includes(k) ? " (file)" : ""}: ${describeField(f)}`);
        }
        out("  outputs:");
        for (const [k, o] of Object.entries(s.outputs)) {
          out(`    ${k} (${o.kind === "file" ? o.ext : "value"}): ${o.description}`);
        }
      }
    });

  registerQueueCommands(program, (c) => (codes.code = c));
  return Object.assign(program, { codes });
}

export async function main(argv: string[]): Promise<number> {
  // Steps render on WebGPU too (runs, workers): keep Mesa's Vulkan warning off stderr.
  ensureXdgRuntimeDir();
  const program = buildProgram() as Command & { codes: { code: number } };
  registerSplatCommands(program);
  // `dub [options] WORKFLOW.yaml [options]` is shorthand for `dub run …`.
  const known = program.commands.map((c) => c.name());
  if (
    argv.length && !known.includes(argv[0]!) &&
    argv.some((a) => /\.ya?ml$/i.test(a) && !a.startsWith("-"))
  ) {
    argv = ["run", ...argv];
  }
  const verbose = argv.includes("--verbose");
  const json = argv.includes("--json");
  try {
    await program.parseAsync(argv, { from: "user" });
    return program.codes.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" || e.code === "commander.version" ||
        e.code === "commander.help"
      ) return EXIT.ok;
      return EXIT.usage;
    }
    const code = exitCodeFor(e);
    if (json) out(JSON.stringify({ type: "error", message: (e as Error).message, exitCode: code }));
    else printError(e, verbose);
    return code;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
