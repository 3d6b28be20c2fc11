/** `keptn-gitops demo`: see service/demo/run-demo.ts. */
export { runDemo } from '../demo/run-demo.js';
