import fc from 'fast-check';

type Json = unknown;

/** Paths to every value inside a JSON document (objects and arrays), the root included. */
export function jsonPaths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const paths = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...jsonPaths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths.push(...jsonPaths(v, [...prefix, k]));
  return paths;
}

/** A copy of `doc` with the value at `path` replaced (`undefined`: removed). */
export function replaceAt(doc: Json, path: (string | number)[], next: Json | undefined): Json {
  if (path.length === 0) return next;
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (next === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = next;
  return copy;
}

/** Replaces, removes or adds one value somewhere in `doc`. */
export function mutatedJson(doc: Json): fc.Arbitrary<Json> {
  const paths = jsonPaths(doc);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...paths), fc.jsonValue()).map(([path, value]) => replaceAt(doc, path, value)),
    fc.constantFrom(...paths.filter((p) => p.length > 0)).map((path) => replaceAt(doc, path, undefined)),
    fc.tuple(fc.constantFrom(...paths), fc.string(), fc.jsonValue()).map(([path, key, value]) => {
      const target = path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], doc);
      return target !== null && typeof target === 'object' && !Array.isArray(target)
        ? replaceAt(doc, [...path, key], value)
        : doc;
    }),
  );
}

/** Text edits: a cut, an inserted string, a flipped character. */
export function mutatedText(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat({ max: text.length }), fc.string()).map(([n, s]) => text.slice(0, n) + s + text.slice(n)),
    fc
      .tuple(fc.nat({ max: Math.max(0, text.length - 1) }), fc.string({ minLength: 1, maxLength: 1 }))
      .map(([n, c]) => text.slice(0, n) + c + text.slice(n + 1)),
  );
}
