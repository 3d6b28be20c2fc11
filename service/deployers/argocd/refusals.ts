import { DeployError } from '../deployer.js';
import { ArgoApiError, GRPC_CODES } from './errors.js';

/**
 * Why Argo CD refused a sync (argo-cd `server/application/application.go`, Sync), recognised from its error
 * text.
 */
export const SYNC_REFUSALS = {
  operationInProgress: 'operation-in-progress',
  autoSyncPinned: 'auto-sync-pinned',
  syncWindow: 'sync-window',
} as const;
export type SyncRefusal = (typeof SYNC_REFUSALS)[keyof typeof SYNC_REFUSALS];

export function syncRefusal(err: unknown): SyncRefusal | undefined {
  if (!(err instanceof ArgoApiError)) return undefined;
  const text = err.serverMessage;
  if (err.status === 400 && /another operation is already in progress/i.test(text))
    return SYNC_REFUSALS.operationInProgress;
  if (err.status === 400 && /auto-sync currently set to/i.test(text)) return SYNC_REFUSALS.autoSyncPinned;
  if (err.status === 403 && /sync window/i.test(text)) return SYNC_REFUSALS.syncWindow;
  return undefined;
}

/**
 * TerminateOperation's 400 (InvalidArgument) "No operation is in progress": no operation, or one
 * the controller has not picked up yet (`status.operationState` still unset).
 */
export function nothingToTerminate(err: unknown): boolean {
  return (
    err instanceof ArgoApiError &&
    err.status === 400 &&
    /no operation is in progress/i.test(err.serverMessage)
  );
}

export interface ErrorContext {
  application: string;
  instance: string;
  /** `Application/<ns>/<name>`. */
  target: string;
}

/** Turns an Argo CD API failure into the DeployError the service reports; other errors pass through. */
export function toDeployError(err: unknown, ctx: ErrorContext): unknown {
  if (!(err instanceof ArgoApiError)) return err;
  const where = `application '${ctx.application}' on Argo CD instance '${ctx.instance}'`;
  const refusal = syncRefusal(err);
  if (refusal === SYNC_REFUSALS.autoSyncPinned) {
    const pinned = /auto-sync currently set to (\S+)/i.exec(err.serverMessage)?.[1];
    return new DeployError(
      'refused',
      `Argo CD refused to sync ${where}: ${err.serverMessage}. Automated sync pins the application to its targetRevision${pinned ? ` (${pinned})` : ''}; disable automated sync on the application, or request its targetRevision`,
      ctx.target,
      { cause: err },
    );
  }
  if (refusal === SYNC_REFUSALS.syncWindow) {
    return new DeployError(
      'refused',
      `Argo CD refused to sync ${where}: ${err.status} ${err.serverMessage} (a sync window denies syncs now)`,
      ctx.target,
      { cause: err },
    );
  }
  if (err.status === 401 || err.grpcCode === GRPC_CODES.unauthenticated) {
    return new DeployError(
      'auth',
      `Argo CD rejected the credentials for ${where}: ${err.status ?? ''} ${err.serverMessage}`.replace(
        /\s+/g,
        ' ',
      ),
      ctx.target,
      { cause: err },
    );
  }
  if (err.status === 403) {
    return new DeployError(
      'forbidden',
      `Argo CD denied access to ${where}: 403 ${err.serverMessage} (the application does not exist, or the account may not see or sync it)`,
      ctx.target,
      { cause: err },
    );
  }
  if (err.status === 404) {
    return new DeployError('not-found', `${where} not found: 404 ${err.serverMessage}`, ctx.target, {
      cause: err,
    });
  }
  if (err.transient || err.status === undefined) {
    return new DeployError(
      'unreachable',
      `Argo CD API unreachable for ${where}: ${err.message}`,
      ctx.target,
      { cause: err },
    );
  }
  if (err.status === 400) {
    return new DeployError(
      'refused',
      `Argo CD refused the request for ${where}: 400 ${err.serverMessage}`,
      ctx.target,
      { cause: err },
    );
  }
  return new DeployError('invalid', `Argo CD call for ${where} failed: ${err.message}`, ctx.target, {
    cause: err,
  });
}
