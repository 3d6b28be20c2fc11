import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The machine's Redis (Argo CD's cache), on its standard port. */
export const REDIS_ADDRESS = '127.0.0.1:6379';

/** Databases this tier may take; 0 holds the leases. */
const DATABASES = [8, 9, 10, 11, 12, 13, 14, 15];
const LEASE_SECONDS = 3 * 3600;

async function redis(...args: string[]): Promise<string> {
  const [host, port] = REDIS_ADDRESS.split(':');
  const { stdout } = await run('redis-cli', ['-h', host!, '-p', port!, ...args]);
  return stdout.trim();
}

/**
 * A Redis database of its own for one Argo CD run, so that two runs on one machine never share
 * cached manifests or app state: leased with SET NX in database 0, emptied before use.
 */
export class RedisDatabase {
  private constructor(
    readonly db: number,
    private readonly key: string,
  ) {}

  static async lease(): Promise<RedisDatabase> {
    const owner = `${process.pid}@${Date.now()}`;
    for (const db of DATABASES) {
      const key = `keptn-gitops-real:argocd-db:${db}`;
      if ((await redis('-n', '0', 'SET', key, owner, 'NX', 'EX', String(LEASE_SECONDS))) === 'OK') {
        await redis('-n', String(db), 'FLUSHDB');
        return new RedisDatabase(db, key);
      }
    }
    throw new Error(
      `no free Redis database for Argo CD among ${DATABASES.join(', ')} (leases in database 0: keptn-gitops-real:argocd-db:*)`,
    );
  }

  async release(): Promise<void> {
    await redis('-n', String(this.db), 'FLUSHDB').catch(() => undefined);
    await redis('-n', '0', 'DEL', this.key).catch(() => undefined);
  }
}
