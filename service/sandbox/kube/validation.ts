import { Ajv, type ValidateFunction } from 'ajv';
import type { ResourceType } from './resource-types.js';
import { ApiStatusError } from './status.js';

/**
 * Validates objects of CRD kinds against their openAPIV3Schema, as the API server does on every
 * write. The schemas carry `x-kubernetes-*` keywords and formats ajv does not know, hence not strict.
 */
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
/** Compiled once per resource type for the whole process (compiling the Argo CD schema is slow). */
const compiled = new WeakMap<ResourceType, ValidateFunction>();

export class SchemaValidator {
  validate(type: ResourceType, object: Record<string, unknown>): void {
    if (!type.schema) return;
    let fn = compiled.get(type);
    if (!fn) {
      fn = ajv.compile(type.schema);
      compiled.set(type, fn);
    }
    if ((fn as (data: unknown) => boolean)(object)) return;
    const meta = (object.metadata ?? {}) as { name?: string };
    const problems = (fn.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '<root>'}: ${e.message ?? 'invalid'}`);
    throw new ApiStatusError(
      422,
      `${type.kind}.${type.group} "${meta.name ?? ''}" is invalid: ${problems.join(', ')}`,
      {
        name: meta.name,
        group: type.group,
        kind: type.kind,
      },
    );
  }
}
