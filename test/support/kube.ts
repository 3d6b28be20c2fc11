import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiSimulator, type KubeApiSimulatorOptions } from '../../service/sandbox/kube/kube-api-simulator.js';
import { writeSandboxKubeconfig } from '../../service/sandbox/kube/kubeconfig.js';

export interface KubeSandbox {
  sim: KubeApiSimulator;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
}

/** A started KubeApiSimulator and a kubeconfig (file and loaded KubeConfig) pointing at it. */
export async function startKubeSandbox(options: KubeApiSimulatorOptions = {}): Promise<KubeSandbox> {
  const sim = await KubeApiSimulator.start(options);
  const kubeconfigPath = writeSandboxKubeconfig({ server: sim.url });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { sim, kubeconfigPath, kubeConfig };
}

/** A KubeConfig for any URL (e.g. one where nothing listens). */
export function sandboxKubeConfig(server: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(writeSandboxKubeconfig({ server }));
  return kubeConfig;
}
