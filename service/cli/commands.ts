import type { ParseArgsConfig } from 'node:util';
import { EXIT_CODES_HELP } from './exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  /** The command's options besides --help. */
  options: Options;
  /** `keptn-gitops <command> --help`. */
  help: string;
}

/** Every `keptn-gitops` command, its options and its `--help` text. */
export const COMMANDS = {
  serve: {
    options: {},
    help: `Usage: keptn-gitops serve

Runs the service until SIGTERM or SIGINT. Configured by environment variables only (see the
README's "Environment"): EVENTBROKER or KEPTN_API_ENDPOINT, GITOPS_CONFIG (the targets file),
ARGOCD_SERVER/ARGOCD_AUTH_TOKEN, KUBECONFIG, HEALTH_ENDPOINT_PORT (default 8080),
WEBHOOK_PORT (default 8090), LOG_LEVEL (default info).

Logs are JSON lines. GET /health (200 once registered, else 412) and GET /ready (200 while able to
receive a trigger, else 503) say in their body what they are waiting for.

${EXIT_CODES_HELP}`,
  },
  check: {
    options: {},
    help: `Usage: keptn-gitops check

Validates the configuration (the environment and the targets file) and tries every dependency it
names: NATS or the Keptn API, the control plane, the Kubernetes API with the Flux CRDs and the RBAC
the service needs, and each Argo CD instance and application. One line per check: ok, warn or FAIL.
Each check gives up after 5 s; the command ends within 60 s whatever the network does.

${EXIT_CODES_HELP}`,
  },
  demo: {
    options: {},
    help: `Usage: keptn-gitops demo

The whole loop on one machine with no cluster: a Keptn-like trigger, a simulated control plane,
Flux and Argo CD, and the real service in between; prints the event timeline. Uses EVENTBROKER if
set, else starts nats-server if it is on the PATH, else an in-process bus. Ends within about 90 s.

${EXIT_CODES_HELP}`,
  },
  trigger: {
    options: {
      project: { type: 'string' },
      stage: { type: 'string' },
      service: { type: 'string' },
      task: { type: 'string' },
      sequence: { type: 'string' },
      revision: { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
    },
    help: `Usage: keptn-gitops trigger --project P --stage S --service V [--task deliver | --sequence S]
                            [--revision R] [--wait] [--timeout 20m]

  --task T       publish sh.keptn.event.T.triggered straight onto NATS (default: deliver; NATS mode only)
  --sequence S   start the sequence S of the stage (sh.keptn.event.<stage>.S.triggered), through NATS
                 or, when KEPTN_API_ENDPOINT is set, the Keptn API
  --revision R   the revision to deploy (data.gitops.revision for this stage)
  --wait         follow the task to its .finished with a progress line: what it waits for, and
                 once started the tool's own phase (Flux: reconciling, health checks; Argo CD:
                 operation phase, sync and health status) when the targets file and credentials
                 are at hand, as in the service's pod; prints result, status, message and revision
  --timeout D    how long --wait waits, e.g. 90s, 10m, 1h (default 20m); without --wait the command
                 ends once the trigger is sent (connecting gives up after 5 s)

${EXIT_CODES_HELP}`,
  },
} satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

export const USAGE = `keptn-gitops: lets Keptn orchestrate deployments done by Argo CD and Flux

Usage:
  keptn-gitops serve                        run the service (configured by environment variables)
  keptn-gitops demo                         the whole loop on one machine, with simulated Keptn, Flux and Argo CD
  keptn-gitops trigger --project P --stage S --service V [--task deliver | --sequence S]
                       [--revision R] [--wait] [--timeout 20m]
                                            send a trigger (NATS, or the Keptn API in remote mode)
  keptn-gitops check                        validate the configuration and try every dependency
  keptn-gitops <command> --help             what a command does, its options
  keptn-gitops --version | --help

${EXIT_CODES_HELP}`;
