export { FluxDeployer, type FluxDeployerOptions } from './flux-deployer.js';
export {
  findMarkedDeliveries,
  parseMarker,
  type MarkedDelivery,
  type FindMarkedOptions,
} from './delivery-marker.js';
export {
  FLUX_RESOURCES,
  ANNOTATIONS,
  targetId,
  type FluxObject,
  type FluxResourceKind,
  type Condition,
} from './flux-resources.js';
export { judge, type Verdict, type FollowContext } from './verdict.js';
