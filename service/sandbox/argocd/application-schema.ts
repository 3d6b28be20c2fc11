import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadCrdTypes } from '../kube/resource-types.js';

let validator: ValidateFunction | undefined;

/** Validates an Application against the v1alpha1 schema of the CRD in service/sandbox/crds. */
export function validateApplication(app: unknown): string[] {
  validator ??= compile();
  if (validator(app)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

function compile(): ValidateFunction {
  const schema = loadCrdTypes().find(
    (t) => t.group === 'argoproj.io' && t.kind === 'Application' && t.version === 'v1alpha1',
  )?.schema;
  if (!schema) throw new Error('the Application CRD has no v1alpha1 version');
  const ajv = new Ajv({ strict: false });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  ajv.addFormat('int64', true);
  ajv.addFormat('int32', true);
  return ajv.compile(schema);
}
