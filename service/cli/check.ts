import type { ServiceEnv } from '../config/env.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import { ConfigError, loadTargetsFile } from '../config/targets-loader.js';
import { checkArgoCd } from './check-argocd.js';
import { checkControlPlane, checkNats } from './check-keptn.js';
import { checkKubernetes } from './check-kubernetes.js';

export const CheckStatus = { Ok: 'ok', Warn: 'warn', Fail: 'FAIL' } as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

export interface CheckLine {
  status: CheckStatus;
  name: string;
  detail: string;
}

export type CheckReporter = (line: CheckLine) => void;

/**
 * `keptn-gitops check`: validates the configuration and tries every dependency it names, one line
 * per check; the exit code is non-zero when any check failed (warnings do not fail).
 */
export async function runCheck(env: ServiceEnv, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let failed = false;
  const report: CheckReporter = (line) => {
    if (line.status === CheckStatus.Fail) failed = true;
    out.write(`${line.status.padEnd(4)} ${line.name.padEnd(14)} ${line.detail}\n`);
  };

  const config = loadConfig(env, report);
  if (env.keptnApiEndpoint) {
    report({ status: CheckStatus.Ok, name: 'mode', detail: `remote execution plane: Keptn API ${env.keptnApiEndpoint}` });
  } else {
    report({ status: CheckStatus.Ok, name: 'mode', detail: `in-cluster: NATS ${env.eventBroker}` });
    await checkNats(env, report);
  }
  await checkControlPlane(env, report);
  if (config) {
    await checkKubernetes(env, config, report);
    await checkArgoCd(config, report);
  }
  return failed ? 1 : 0;
}

function loadConfig(env: ServiceEnv, report: CheckReporter): GitopsConfig | undefined {
  try {
    const config = loadTargetsFile(env.configFile, env.raw);
    const instances = [...config.instances.keys()];
    report({
      status: CheckStatus.Ok,
      name: 'config',
      detail: `${config.file}: ${config.rules.length} target rule(s), Argo CD instance(s): ${instances.length ? instances.join(', ') : 'none'}`,
    });
    return config;
  } catch (err) {
    const detail = err instanceof ConfigError ? `${err.file}: ${err.problems.join('; ')}` : (err as Error).message;
    report({ status: CheckStatus.Fail, name: 'config', detail });
    return undefined;
  }
}

/** Names with `${...}` are resolved per delivery, so they cannot be looked up ahead of time. */
export function hasPlaceholder(value: string): boolean {
  return value.includes('${');
}
