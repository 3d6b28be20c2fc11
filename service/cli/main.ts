#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { readEnv, EnvError } from '../config/env.js';
import { ConfigError } from '../config/targets-loader.js';
import { packageVersion } from '../util/package-version.js';
import { UsageError } from './usage-error.js';

const USAGE = `keptn-gitops: lets Keptn orchestrate deployments done by Argo CD and Flux

Usage:
  keptn-gitops serve                        run the service (configured by environment variables)
  keptn-gitops demo                         the whole loop on one machine, with simulated Keptn, Flux and Argo CD
  keptn-gitops trigger --project P --stage S --service V [--task deliver | --sequence S]
                       [--revision R] [--wait] [--timeout 20m]
                                            send a trigger (NATS, or the Keptn API in remote mode)
  keptn-gitops check                        validate the configuration and try every dependency
  keptn-gitops --version | --help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  switch (command) {
    // Each command loads only its own code: `serve` does not carry the demo's simulators.
    case 'serve':
      return (await import('./serve.js')).runServe(readEnv(process.env, packageVersion()));
    case 'check':
      return (await import('./check.js')).runCheck(readEnv(process.env, packageVersion()));
    case 'demo':
      return (await import('./demo.js')).runDemo();
    case 'trigger':
      return (await import('./trigger.js')).runTrigger(parseTriggerArgs(rest), readEnv(process.env, packageVersion()));
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

function parseTriggerArgs(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      project: { type: 'string' },
      stage: { type: 'string' },
      service: { type: 'string' },
      task: { type: 'string', default: 'deliver' },
      sequence: { type: 'string' },
      revision: { type: 'string' },
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '20m' },
    },
    strict: true,
  });
  const missing = (['project', 'stage', 'service'] as const).filter((k) => !values[k]);
  if (missing.length) throw new UsageError(`trigger needs ${missing.map((k) => `--${k}`).join(', ')}`);
  return { ...values, project: values.project!, stage: values.stage!, service: values.service!, task: values.task!, wait: values.wait!, timeout: values.timeout! };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`keptn-gitops: ${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError || err instanceof EnvError) {
      process.stderr.write(`keptn-gitops: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`keptn-gitops: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
