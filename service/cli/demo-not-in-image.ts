import { UsageError } from './exit-codes.js';

/**
 * `keptn-gitops demo` in the image: the bundle leaves out the demo and its simulators (build/bundle.ts
 * puts this module in place of ./demo.js), so the image carries only the service.
 */
export function runDemo(): Promise<number> {
  return Promise.reject(
    new UsageError(
      'the demo is not part of the image (it needs the simulators): run `npm run demo` in a checkout',
    ),
  );
}
