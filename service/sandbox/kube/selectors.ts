import type { KubeObject } from './object-store.js';
import { ApiStatusError } from './status.js';

/** A label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-joined) as a predicate. */
export function labelSelector(selector: string | null): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const terms = selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return terms.every((term) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(term);
      if (ne) return labels[ne[1]!.trim()] !== ne[2]!.trim();
      const eq = /^([^!=]+)==?(.*)$/.exec(term);
      if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
  };
}

/** A field selector on `metadata.name` / `metadata.namespace` (`=`, `==`, `!=`). */
export function fieldSelector(selector: string | null): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const terms = selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((term) => {
      const m = /^(metadata\.name|metadata\.namespace)(!=|==|=)(.*)$/.exec(term);
      if (!m) throw new ApiStatusError(400, `field label not supported: ${term.split(/[!=]/)[0]}`);
      return { field: m[1] as 'metadata.name' | 'metadata.namespace', negate: m[2] === '!=', value: m[3]! };
    });
  return (obj) =>
    terms.every((t) => {
      const actual = t.field === 'metadata.name' ? obj.metadata.name : obj.metadata.namespace;
      return t.negate ? actual !== t.value : actual === t.value;
    });
}
