/** How the simulated controller ends the next reconciles of one object (set by tests and the demo). */
export type ScriptedOutcome = (
  | { type: 'success' }
  /** Attempt failed, controller will retry: Ready=False, Reconciling=True ProgressingWithRetry. */
  | { type: 'retry'; reason?: string; message: string }
  /** Terminal: Ready=False, Stalled=True. */
  | { type: 'stalled'; reason?: string; message: string }
  | { type: 'dependency-not-ready'; dependency?: string }
  /** Succeeds but applies this revision instead of the source's. */
  | { type: 'wrong-revision'; revision: string }
  /** A newer token is handled instead of ours (applying `revision`, default the source's). */
  | { type: 'overtaken'; revision?: string }
  /** Our token is handled while a later reconcile is still running (Ready=Unknown), which then succeeds. */
  | { type: 'later-running' }
  /**
   * Our token is handled while Reconciling=True and the previous reconcile's Ready=True (and revision) still
   * stand; then it succeeds.
   */
  | { type: 'stale-ready' }
  /**
   * The spec changes during our reconcile: our token is handled with a Ready=True status of the older
   * generation; then the new one succeeds.
   */
  | { type: 'older-generation' }
) & {
  /** How long the reconcile takes (default: the simulator's delay). */
  delayMs?: number;
  /** Wait for `markReady()` instead of a delay. */
  hold?: boolean;
};
