import { ApiStatusError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: Json;
  from?: string;
}

/** RFC 6902 JSON patch on a copy of `target`; a failed op is a 422 like the API server's. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiStatusError(400, 'json patch body must be an array of operations');
  let doc = structuredClone(target);
  for (const op of ops as JsonPatchOp[]) {
    switch (op.op) {
      case 'add':
        doc = setAt(doc, op.path, op.value, 'add');
        break;
      case 'replace':
        getAt(doc, op.path);
        doc = setAt(doc, op.path, op.value, 'replace');
        break;
      case 'remove':
        doc = removeAt(doc, op.path);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) {
          throw new ApiStatusError(
            422,
            `the server rejected our request due to an error in our request: test failed at ${op.path}`,
          );
        }
        break;
      case 'move': {
        const value = getAt(doc, op.from ?? '');
        doc = setAt(removeAt(doc, op.from ?? ''), op.path, value as Json, 'add');
        break;
      }
      case 'copy':
        doc = setAt(doc, op.path, structuredClone(getAt(doc, op.from ?? '')) as Json, 'add');
        break;
      default:
        throw new ApiStatusError(400, `unknown json patch operation ${(op as { op: string }).op}`);
    }
  }
  return doc;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiStatusError(422, `invalid json pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const key of pointer(path)) {
    if (!isObject(cur) && !Array.isArray(cur)) throw missing(path);
    const next = (cur as Record<string, unknown>)[key];
    if (next === undefined) throw missing(path);
    cur = next;
  }
  return cur;
}

function setAt(doc: unknown, path: string, value: Json | undefined, mode: 'add' | 'replace'): unknown {
  const keys = pointer(path);
  if (keys.length === 0) return value;
  const parent = getAt(doc, '/' + keys.slice(0, -1).map(escape).join('/')) as
    Record<string, unknown> | unknown[];
  const last = keys[keys.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw missing(path);
  }
  return doc;
}

function removeAt(doc: unknown, path: string): unknown {
  const keys = pointer(path);
  getAt(doc, path);
  const parent = getAt(doc, '/' + keys.slice(0, -1).map(escape).join('/')) as
    Record<string, unknown> | unknown[];
  const last = keys[keys.length - 1]!;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete (parent as Record<string, unknown>)[last];
  return doc;
}

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const missing = (path: string) =>
  new ApiStatusError(
    422,
    `the server rejected our request due to an error in our request: no value at ${path}`,
  );

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
