export {
  FluxControllerSimulator,
  type FluxControllerSimulatorOptions,
  REQUESTED_AT,
} from './flux-controller-simulator.js';
export type { ScriptedOutcome } from './scripted-outcome.js';
export {
  seedKustomization,
  seedHelmRelease,
  seedGitRepository,
  seedHelmChart,
  seedWaitingKustomization,
  DEFAULT_GIT_REVISION,
} from './seed.js';
