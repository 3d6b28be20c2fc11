export { FluxControllerSimulator, type FluxControllerSimulatorOptions, REQUESTED_AT, FORCE_AT } from './flux-controller-simulator.js';
export type { ScriptedOutcome } from './scripted-outcome.js';
export { seedKustomization, seedHelmRelease, seedGitRepository, seedHelmChart, DEFAULT_GIT_REVISION, type SeedKustomization, type SeedHelmRelease, type SeedGitRepository, type SourceRef } from './seed.js';
