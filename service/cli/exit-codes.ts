/**
 * The exit codes of every `keptn-gitops` command, one per outcome; README.md ("Exit codes") and
 * `keptn-gitops --help` list them from here.
 */
export const ExitCode = {
  /** Success; for `trigger --wait`: the task finished with result `pass`. */
  Ok: 0,
  /**
   * A `check` line failed, `serve` stopped on an error, or the followed task finished with a result other
   * than `pass`.
   */
  Failed: 1,
  /** The command line cannot be run as given. */
  Usage: 2,
  /** `trigger --wait` timed out and no integration ever sent `.started`. */
  NotStarted: 3,
  /** `trigger --wait` timed out after `.started`, before `.finished`. */
  NotFinished: 4,
  /** `trigger` could not send: NATS or the Keptn API unreachable or refusing. */
  Unavailable: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0  success (trigger --wait: the task finished with result pass)
  1  failure: a check failed, serve stopped on an error, or the task finished with a result other than pass
  2  usage error: the command line cannot be run as given
  3  trigger --wait timed out and no integration sent .started (nobody took the task)
  4  trigger --wait timed out after .started, before .finished
  5  trigger could not send: NATS or the Keptn API unreachable or refusing
`;

/** A command line that cannot be run as given: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A dependency the command needs did not answer (or refused): exit code 5. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}
