import { KubeApi } from '../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../service/kube/kube-config.js';
import {
  KubeApiSimulator,
  type KubeApiSimulatorOptions,
} from '../../service/sandbox/kube/kube-api-simulator.js';
import { writeSandboxKubeconfig } from '../../service/sandbox/kube/kubeconfig.js';

export interface KubeSandbox {
  sim: KubeApiSimulator;
  kubeconfigPath: string;
  /** A client of the simulator, loaded from the kubeconfig file as the service loads it. */
  api: KubeApi;
}

/** A started KubeApiSimulator and a kubeconfig (file and client) pointing at it. */
export async function startKubeSandbox(options: KubeApiSimulatorOptions = {}): Promise<KubeSandbox> {
  const sim = await KubeApiSimulator.start(options);
  const kubeconfigPath = writeSandboxKubeconfig({ server: sim.url });
  return { sim, kubeconfigPath, api: new KubeApi(loadKubeConfig(kubeconfigPath)) };
}

/** A client of any URL (e.g. one where nothing listens). */
export function sandboxKubeApi(server: string): KubeApi {
  return new KubeApi(loadKubeConfig(writeSandboxKubeconfig({ server })));
}
