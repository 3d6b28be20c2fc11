import type { ServiceEnv } from '../config/env.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import { NO_RULES_WARNING } from '../config/subscriptions.js';
import { ConfigError, loadTargetsFile } from '../config/targets-loader.js';
import { ExitCode } from './exit-codes.js';
import { checkArgoCd } from './check-argocd.js';
import { checkControlPlane, checkNats } from './check-keptn.js';
import { checkKubernetes } from './check-kubernetes.js';
import { CheckStatus, type CheckReporter } from './check-line.js';

/**
 * `keptn-gitops check`: validates the configuration and tries every dependency it names, one line
 * per check; the exit code is non-zero when any check failed (warnings do not fail).
 */
export async function runCheck(
  env: ServiceEnv,
  out: NodeJS.WritableStream = process.stdout,
  deadlineMs = CHECK_DEADLINE_MS,
): Promise<number> {
  let failed = false;
  let over = false;
  const report: CheckReporter = (line) => {
    if (over) return;
    if (line.status === CheckStatus.Fail) failed = true;
    out.write(`${line.status.padEnd(4)} ${line.name.padEnd(14)} ${line.detail}\n`);
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      report({
        status: CheckStatus.Fail,
        name: 'deadline',
        detail: `the remaining checks did not answer within ${deadlineMs / 1000} s`,
      });
      over = true;
      resolve();
    }, deadlineMs);
  });
  try {
    await Promise.race([runChecks(env, report), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return failed ? ExitCode.Failed : ExitCode.Ok;
}

/** However the network behaves, `check` ends within this (each check also gives up after about 5 s). */
const CHECK_DEADLINE_MS = 60_000;

async function runChecks(env: ServiceEnv, report: CheckReporter): Promise<void> {
  const config = loadConfig(env, report);
  if (env.keptnApiEndpoint) {
    report({
      status: CheckStatus.Ok,
      name: 'mode',
      detail: `remote execution plane: Keptn API ${env.keptnApiEndpoint}`,
    });
  } else {
    report({ status: CheckStatus.Ok, name: 'mode', detail: `in-cluster: NATS ${env.eventBroker}` });
    await checkNats(env, report);
  }
  await checkControlPlane(env, report);
  if (config) {
    await checkKubernetes(env, config, report);
    await checkArgoCd(config, report);
  }
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
    if (config.rules.length === 0)
      report({ status: CheckStatus.Warn, name: 'config', detail: NO_RULES_WARNING });
    return config;
  } catch (err) {
    const detail =
      err instanceof ConfigError ? `${err.file}: ${err.problems.join('; ')}` : (err as Error).message;
    report({ status: CheckStatus.Fail, name: 'config', detail });
    return undefined;
  }
}
