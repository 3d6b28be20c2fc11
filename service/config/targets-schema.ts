import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The targets file (docs/targets-file.md): YAML, unknown keys are errors.
 * This module only describes its shape; targets-loader.ts reads it, checks the env vars it names
 * and turns it into a `GitopsConfig`.
 */

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const oneOrMany = z.union([nonEmpty, z.array(nonEmpty).min(1, 'must list at least one value')]);

const DURATION_HELP = 'must be a duration with a unit, such as 90s, 10m or 1h';
const durationSchema = z
  .string({
    // `timeout: 10` is read as a number: say what the unit would be, not "expected string".
    error: (issue) =>
      typeof issue.input === 'number'
        ? `${DURATION_HELP} (a bare number has none: write ${issue.input}m or ${issue.input}s)`
        : DURATION_HELP,
  })
  .refine((s) => (parseDuration(s) ?? 0) > 0, {
    error: (issue) => `${DURATION_HELP}, not '${String(issue.input)}'`,
  });

const ON_RUNNING_OPERATION = ['wait', 'terminate', 'fail'] as const;
const FLUX_KINDS = ['Kustomization', 'HelmRelease'] as const;

const argoInstanceSchema = z
  .strictObject({
    name: nonEmpty,
    server: nonEmpty,
    tokenEnv: envVarName.optional(),
    usernameEnv: envVarName.optional(),
    passwordEnv: envVarName.optional(),
    caFile: nonEmpty.optional(),
    insecure: z.boolean().optional(),
  })
  .superRefine((inst, ctx) => {
    const login = inst.usernameEnv !== undefined || inst.passwordEnv !== undefined;
    if (inst.tokenEnv && login) {
      ctx.addIssue({ code: 'custom', message: 'set tokenEnv or usernameEnv + passwordEnv, not both' });
    } else if (!inst.tokenEnv && !(inst.usernameEnv && inst.passwordEnv)) {
      ctx.addIssue({ code: 'custom', message: 'needs tokenEnv, or usernameEnv and passwordEnv' });
    }
    if (inst.caFile && inst.insecure) {
      ctx.addIssue({ code: 'custom', message: 'caFile and insecure: true exclude each other' });
    }
  });

const argoTargetSchema = z.strictObject({
  application: nonEmpty,
  instance: nonEmpty.default('default'),
  appNamespace: nonEmpty.optional(),
  project: nonEmpty.optional(),
  prune: z.boolean().default(false),
  syncOptions: z.array(nonEmpty).default([]),
  onRunningOperation: z.enum(ON_RUNNING_OPERATION).default('wait'),
});

const fluxTargetSchema = z.strictObject({
  kind: z.enum(FLUX_KINDS),
  name: nonEmpty,
  namespace: nonEmpty.default('flux-system'),
  withSource: z.boolean().default(false),
  force: z.boolean().default(false),
});

const matchSchema = z.strictObject({
  project: oneOrMany.optional(),
  stage: oneOrMany.optional(),
  service: oneOrMany.optional(),
});

const PLACEHOLDER = /\$\{(project|stage|service)\}/;
const ANY_PLACEHOLDER = /\$\{([^}]*)\}/g;

function checkPlaceholders(value: string, path: (string | number)[], ctx: z.RefinementCtx): void {
  for (const m of value.matchAll(ANY_PLACEHOLDER)) {
    if (!PLACEHOLDER.test(m[0])) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `unknown placeholder ${m[0]}; use \${project}, \${stage} or \${service}`,
      });
    }
  }
}

const targetSchema = z
  .strictObject({
    match: matchSchema.default({}),
    argocd: argoTargetSchema.optional(),
    flux: fluxTargetSchema.optional(),
    timeout: durationSchema.default('10m'),
    deploymentName: nonEmpty.default('direct'),
    onChange: z.strictObject({ sequence: nonEmpty }).optional(),
  })
  .superRefine((t, ctx) => {
    if (!t.argocd === !t.flux) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of argocd or flux' });
      return;
    }
    if (t.flux?.force && t.flux.kind !== 'HelmRelease') {
      ctx.addIssue({
        code: 'custom',
        path: ['flux', 'force'],
        message: 'force only applies to a HelmRelease',
      });
    }
    const named: [string, (string | number)[]][] = t.argocd
      ? [[t.argocd.application, ['argocd', 'application']]]
      : [
          [t.flux!.name, ['flux', 'name']],
          [t.flux!.namespace, ['flux', 'namespace']],
        ];
    for (const [value, path] of named) checkPlaceholders(value, path, ctx);
    if (t.onChange) {
      for (const key of ['project', 'stage', 'service'] as const) {
        if (typeof t.match[key] !== 'string') {
          ctx.addIssue({
            code: 'custom',
            path: ['match', key],
            message: 'onChange needs a single value here',
          });
        }
      }
      for (const [value, path] of named) {
        if (PLACEHOLDER.test(value))
          ctx.addIssue({ code: 'custom', path, message: 'onChange targets cannot use placeholders' });
      }
    }
  });

export const targetsFileSchema = z.strictObject({
  argocd: z.strictObject({ instances: z.array(argoInstanceSchema).default([]) }).default({ instances: [] }),
  webhooks: z
    .strictObject({
      argocdTokenEnv: envVarName.optional(),
      fluxHmacKeyEnv: envVarName.optional(),
      fluxTokenEnv: envVarName.optional(),
    })
    .default({}),
  targets: z.array(targetSchema).default([]),
});

export type TargetsFile = z.infer<typeof targetsFileSchema>;
export type TargetRule = z.infer<typeof targetSchema>;
export type ArgoTargetSpec = z.infer<typeof argoTargetSchema>;
export type FluxTargetSpec = z.infer<typeof fluxTargetSchema>;
export type ArgoInstanceSpec = z.infer<typeof argoInstanceSchema>;
export type OnRunningOperation = (typeof ON_RUNNING_OPERATION)[number];
export type FluxKind = (typeof FLUX_KINDS)[number];
