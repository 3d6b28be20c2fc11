/**
 * The flags `node` runs the service with, wherever it runs: the image's ENTRYPOINT, `npm start`,
 * and the demo, tests and benchmark (ServiceProcess). `--optimize-for-size` makes V8 collect
 * garbage sooner and keep a smaller heap: under a burst of 1,000 deliveries the peak RSS drops by
 * about 70 MB for about 50 % more CPU time (README, "Benchmark"). It cannot go in NODE_OPTIONS.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--optimize-for-size'];
