/**
 * References between inputs, models and steps: `${{ inputs.NAME }}`,
 * `${{ models.NAME }}`, `${{ steps.ID.outputs.NAME }}`. A value that is exactly
 * one reference takes the referenced value with its type; a reference inside a
 * longer string is interpolated as text.
 *
 * @module
 */

export type Ref =
  | { kind: "inputs"; name: string }
  | { kind: "models"; name: string }
  | { kind: "steps"; step: string; output: string };

const REF_RE = /\$\{\{\s*([^}]*?)\s*\}\}/g;

/** Parse the expression inside `${{ … }}`; null if it is not a valid reference. */
export function parseRefExpr(expr: string): Ref | null {
  const p = expr.split(".");
  if (p.length === 2 && (p[0] === "inputs" || p[0] === "models") && p[1]) {
    return { kind: p[0], name: p[1] };
  }
  if (p.length === 4 && p[0] === "steps" && p[2] === "outputs" && p[1] && p[3]) {
    return { kind: "steps", step: p[1], output: p[3] };
  }
  return null;
}

export interface FoundRef {
  ref: Ref | null;
  expr: string;
  /** Offset of `${{` in the string. */
  offset: number;
}

/** All references in a string. */
export function findRefs(s: string): FoundRef[] {
  const out: FoundRef[] = [];
  for (const m of s.matchAll(REF_RE)) {
    out.push({ ref: parseRefExpr(m[1]!), expr: m[1]!, offset: m.index });
  }
  return out;
}

/** If `s` is exactly one reference, return it. */
export function wholeRef(s: string): Ref | null {
  const m = /^\s*\$\{\{\s*([^}]*?)\s*\}\}\s*$/.exec(s);
  return m ? parseRefExpr(m[1]!) : null;
}

/** Replace every reference in `s` with `lookup(ref)` rendered as text. */
export function interpolate(s: string, lookup: (r: Ref) => unknown): unknown {
  const whole = wholeRef(s);
  if (whole) return lookup(whole);
  return s.replace(REF_RE, (_, expr: string) => {
    const r = parseRefExpr(expr);
    if (!r) throw new RangeError(`Invalid reference "\${{ ${expr} }}"`);
    const v = lookup(r);
    return typeof v === "string" ? v : JSON.stringify(v);
  });
}

/** Visit every string in a JSON-like value with its path. */
export function walkStrings(
  v: unknown,
  path: (string | number)[],
  fn: (s: string, path: (string | number)[]) => void,
): void {
  if (typeof v === "string") fn(v, path);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, [...path, i], fn));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) walkStrings(x, [...path, k], fn);
  }
}

/** Map every string in a JSON-like value. */
export function mapStrings(v: unknown, fn: (s: string) => unknown): unknown {
  if (typeof v === "string") return fn(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, fn));
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, fn)]));
  }
  return v;
}

export function refText(r: Ref): string {
  return r.kind === "steps" ? `steps.${r.step}.outputs.${r.output}` : `${r.kind}.${r.name}`;
}
