import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { packageRoot } from '../../util/package-root.js';

let validator: ValidateFunction | undefined;

/** Validates an Application against the v1alpha1 schema of the CRD in service/sandbox/crds. */
export function validateApplication(app: unknown): string[] {
  validator ??= compile();
  if (validator(app)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

function compile(): ValidateFunction {
  const crd = parse(readFileSync(join(packageRoot(), 'service', 'sandbox', 'crds', 'argoproj.io_applications.yaml'), 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] };
  };
  const version = crd.spec.versions.find((v) => v.name === 'v1alpha1');
  if (!version) throw new Error('the Application CRD has no v1alpha1 version');
  const ajv = new Ajv({ strict: false });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  ajv.addFormat('int64', true);
  ajv.addFormat('int32', true);
  return ajv.compile(version.schema.openAPIV3Schema);
}
