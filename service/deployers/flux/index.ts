export { FluxDeployer, type FluxDeployerOptions } from './flux-deployer.js';
export { parseMarker } from './delivery-marker.js';
export { ANNOTATIONS, type FluxObject, type Condition } from './flux-resources.js';
export { judge, type FluxVerdict, type FollowContext } from './verdict.js';
