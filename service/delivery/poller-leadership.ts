import type { Logger } from '../../lib/index.js';
import type { LeaderElection } from '../leases/leader-election.js';

export interface PollerLeadershipOptions {
  election: LeaderElection;
  /** Trigger ids other replicas are delivering (the journal). */
  takenElsewhere: () => Promise<string[]>;
  /** Tells the event loop not to answer one of those ids. */
  ignore: (triggerId: string) => void;
  logger: Logger;
}

/**
 * Remote execution plane with several replicas: the Keptn API returns every open trigger on every
 * poll, so only the holder of the poller Lease polls. A replica that becomes the holder first marks
 * the triggers the journal already records (a dead leader's deliveries, which the adopter finishes)
 * as taken, and only then polls, so no trigger is answered twice.
 */
export class PollerLeadership {
  private polling = false;
  private unsubscribe?: () => void;
  /** The handling of the last leadership change, so `start()` can wait for the first one. */
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly options: PollerLeadershipOptions) {}

  isPolling(): boolean {
    return this.polling;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.options.election.onChange(
      (leader) => void (this.transition = this.onLeadership(leader)),
    );
    await this.options.election.start();
    // Polling starts only once the journal's triggers are marked as taken.
    await this.transition;
  }

  async stop(): Promise<void> {
    this.polling = false;
    this.unsubscribe?.();
    await this.options.election.stop();
  }

  private async onLeadership(leader: boolean): Promise<void> {
    if (!leader) {
      if (this.polling) this.options.logger.info('standing by: another replica polls the Keptn API');
      this.polling = false;
      return;
    }
    if (this.polling) return;
    try {
      for (const id of await this.options.takenElsewhere()) this.options.ignore(id);
    } catch (err) {
      this.options.logger.warn('could not read the delivery journal; polling anyway', {
        error: (err as Error).message,
      });
    }
    this.options.logger.info('polling the Keptn API: this replica holds the poller lease');
    this.polling = this.options.election.isLeader();
  }
}
