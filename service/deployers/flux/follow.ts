import type { WatchHub } from '../../kube/watch-hub.js';
import type { Clock } from '../../kube/kube-client.js';
import { DeployError } from '../deployer.js';
import { waitWithDeadline, type Settle } from '../wait.js';
import { suspendedError } from './deploy-errors.js';
import type { FluxObject } from './flux-resources.js';
import { judge, type FollowContext, type FluxVerdict } from './verdict.js';

export type Decided = Extract<FluxVerdict, { state: 'done' }>;

/**
 * Registers on the object's shared watch (before the caller patches, so no state is missed) and
 * resolves with the first decided verdict; times out at the deadline with the last Ready message.
 * An object deleted, or suspended before its reconcile was decided, ends the wait at once.
 */
export class Follower {
  private lastReady?: string;
  private settle?: Settle<Decided>;
  private decided?: Decided;
  private failed?: DeployError;
  private readonly unsubscribe: () => void;
  private ctx?: FollowContext;

  constructor(
    private readonly hub: WatchHub<FluxObject & { metadata: { name: string } }>,
    private readonly name: string,
  ) {
    this.unsubscribe = hub.subscribe(name, (obj, event) => {
      if (event === 'DELETED')
        return this.fail(
          new DeployError(
            'not-found',
            `${this.ctx?.target ?? name} was deleted while the delivery followed it`,
            this.ctx?.target ?? name,
          ),
        );
      this.offer(obj);
    });
  }

  /** Judges states from now on with this context (the token is known only after the patch). */
  start(ctx: FollowContext, current?: FluxObject): void {
    this.ctx = ctx;
    if (current) this.offer(current);
    const cached = this.hub.current(this.name);
    if (cached) this.offer(cached);
  }

  async wait(deadline: number, signal: AbortSignal, clock: Clock): Promise<Decided> {
    try {
      if (this.decided) return this.decided;
      if (this.failed) throw this.failed;
      const target = this.ctx!.target;
      const lastReady = () => `last Ready message: ${this.lastReady ?? '(none)'}`;
      return await waitWithDeadline<Decided>(
        {
          deadline,
          now: () => clock.now(),
          signal,
          timeout: () =>
            new DeployError(
              'timeout',
              `${target} did not finish reconciling before the deadline; ${lastReady()}`,
              target,
            ),
          aborted: () =>
            new DeployError(
              'timeout',
              `${target}: stopped following (shutting down); ${lastReady()}`,
              target,
              {
                cause: signal.reason,
              },
            ),
        },
        (settle) => {
          this.settle = settle;
        },
      );
    } finally {
      this.close();
    }
  }

  close(): void {
    this.unsubscribe();
  }

  private offer(obj: FluxObject): void {
    if (!this.ctx || this.decided || this.failed) return;
    const verdict = judge(obj, this.ctx);
    if (verdict.state === 'waiting') {
      this.lastReady = verdict.readyMessage ?? this.lastReady;
      // Its controller ignores a suspended object: our reconcile will not be decided.
      if (obj.spec?.suspend === true)
        this.fail(
          suspendedError({
            kind: this.ctx.kind,
            namespace: obj.metadata.namespace ?? '',
            name: obj.metadata.name,
            target: this.ctx.target,
          }),
        );
      return;
    }
    this.decided = verdict;
    this.settle?.resolve(verdict);
  }

  private fail(err: DeployError): void {
    if (this.decided || this.failed) return;
    this.failed = err;
    this.settle?.reject(err);
  }
}
