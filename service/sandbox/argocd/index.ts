export { ArgoCdSimulator, type ArgoCdSimulatorStartOptions } from './argocd-simulator.js';
export {
  SimulatedApplication,
  SCRIPT_OUTCOMES,
  resolveRevision,
  type AppScript,
  type ApplicationSeed,
  type ScriptOutcome,
} from './simulated-application.js';
