import { createTaskTriggeredEvent, silentLogger, type KeptnEvent } from '../../lib/index.js';
import { readEnv } from '../config/env.js';
import { startGitopsService, type RunningGitopsService } from '../gitops-service.js';
import { freePort } from '../sandbox/free-port.js';
import { NatsServer } from '../sandbox/nats/nats-server.js';
import { ServiceProcess, waitForReady } from '../sandbox/service-process.js';
import { NatsEventStream } from '../events/nats-event-stream.js';
import { DEMO_ARGOCD_TOKEN, DEMO_DELIVERIES, DemoSandbox } from './demo-sandbox.js';
import { MemoryBus } from './memory-bus.js';
import { printTimeline, type TimelineEntry } from './timeline.js';

type Bus = { kind: 'nats'; url: string; server?: NatsServer } | { kind: 'memory'; bus: MemoryBus };

/**
 * `keptn-gitops demo`: the whole loop on one machine. A Keptn-like trigger per service, the
 * simulated control plane, Flux and Argo CD, and the real service in between; prints the event
 * timeline and exits 0 when every delivery ended as the sample project expects.
 */
export async function runDemo(out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const bus = await chooseBus(out);
  const sandbox = new DemoSandbox();
  await sandbox.start(bus.kind === 'nats' ? bus.url : undefined);
  const [healthPort, webhookPort] = [await freePort(), await freePort()];
  const env = {
    EVENTBROKER: bus.kind === 'nats' ? bus.url : 'nats://unused',
    SHIPYARD_CONTROLLER: sandbox.controlPlane.url,
    GITOPS_CONFIG: sandbox.targetsFile,
    KUBECONFIG: sandbox.kubeconfig,
    ARGOCD_SERVER: sandbox.argocd.url,
    ARGOCD_AUTH_TOKEN: DEMO_ARGOCD_TOKEN,
    HEALTH_ENDPOINT_PORT: String(healthPort),
    WEBHOOK_PORT: String(webhookPort),
    K8S_NAMESPACE: 'keptn',
    NATS_JETSTREAM: 'false',
    LOG_LEVEL: 'warn',
  };

  const timeline: TimelineEntry[] = [];
  const started = Date.now();
  // Stamped with the event's own time: the simulators share this process and can delay its reads.
  const record = (event: KeptnEvent) => {
    if (event.type.startsWith('sh.keptn.event.deliver.'))
      timeline.push({ at: (Date.parse(event.time ?? '') || Date.now()) - started, event });
  };
  let service: ServiceProcess | RunningGitopsService | undefined;
  let stream: NatsEventStream | undefined;
  try {
    if (bus.kind === 'nats') {
      out.write('starting the service: node dist/service/cli/main.js serve\n');
      const child = new ServiceProcess({ env });
      service = child;
      await child.ready(healthPort);
      stream = await NatsEventStream.connect({ servers: bus.url, subject: 'sh.keptn.event.deliver.>' });
      void (async () => {
        for await (const event of stream!.events()) record(event);
      })();
    } else {
      out.write('starting the service in this process (in-process bus)\n');
      bus.bus.listen(record);
      service = await startGitopsService({
        env: readEnv(env),
        logger: silentLogger,
        transport: bus.bus.endpoint(),
      });
      await waitForReady(healthPort);
    }

    out.write(
      'sending deliver.triggered for sockshop/dev: carts (Argo CD), podinfo (Flux), cartdb (Flux, will stall)\n\n',
    );
    for (const d of DEMO_DELIVERIES) {
      const trigger = createTaskTriggeredEvent({
        task: 'deliver',
        source: 'shipyard-controller',
        data: { project: 'sockshop', stage: 'dev', service: d.service },
      });
      if (stream) await stream.publish(trigger);
      else if (bus.kind === 'memory') bus.bus.publish(trigger);
    }
    const finished = await waitForFinished(timeline, DEMO_DELIVERIES.length, 60_000);
    printTimeline(out, timeline);
    const wrong = DEMO_DELIVERIES.filter((d) => finished.get(d.service) !== d.expect);
    if (wrong.length) {
      out.write(
        `\ndemo: unexpected results for ${wrong.map((d) => `${d.service} (got ${finished.get(d.service) ?? 'nothing'}, expected ${d.expect})`).join(', ')}\n`,
      );
      return 1;
    }
    out.write(
      '\ndemo: every delivery got one started and one finished; cartdb failed with the reason Flux reported.\n',
    );
    return 0;
  } finally {
    await stream?.close();
    await service?.stop();
    await sandbox.stop();
    if (bus.kind === 'nats') await bus.server?.dispose();
  }
}

async function chooseBus(out: NodeJS.WritableStream): Promise<Bus> {
  const configured = readEnv(process.env).raw.EVENTBROKER;
  if (configured) {
    out.write(`bus: NATS at ${configured} (EVENTBROKER)\n`);
    return { kind: 'nats', url: configured };
  }
  try {
    const server = await NatsServer.start();
    out.write(`bus: nats-server started on ${server.url}\n`);
    return { kind: 'nats', url: server.url, server };
  } catch {
    out.write('bus: no EVENTBROKER and no nats-server on the PATH: using an in-process bus\n');
    return { kind: 'memory', bus: new MemoryBus() };
  }
}

async function waitForFinished(
  timeline: TimelineEntry[],
  count: number,
  timeoutMs: number,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const finished = new Map(
      timeline
        .filter((e) => e.event.type.endsWith('.finished'))
        .map((e) => [String(e.event.data.service), String(e.event.data.result)]),
    );
    if (finished.size >= count || Date.now() > deadline) return finished;
    await new Promise((r) => setTimeout(r, 100));
  }
}
