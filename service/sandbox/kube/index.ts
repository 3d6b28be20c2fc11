export { KubeApiSimulator, type KubeApiSimulatorOptions, type RequestCountFilter } from './kube-api-simulator.js';
export { writeSandboxKubeconfig, type SandboxKubeconfigOptions } from './kubeconfig.js';
export type { RbacRule } from './rbac.js';
export type { FaultSpec, FaultEffect, RequestInfo } from './faults.js';
export type { KubeObject } from './object-store.js';
