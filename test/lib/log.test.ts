import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../lib/log.js';

function capture(level: string) {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
  });
  return { logger: createLogger({ level, stream, defaultMeta: { service: 'gitops-service' } }), lines };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createLogger', () => {
  it('writes JSON lines at and above the level, with the default and given fields', async () => {
    const { logger, lines } = capture('warn');
    logger.info('dropped');
    logger.debug('dropped too');
    logger.warn('kept', { project: 'sockshop' });
    logger.error('also kept');
    await settle();
    expect(lines.map((l) => l.message)).to.deep.equal(['kept', 'also kept']);
    expect(lines[0]).to.include({ level: 'warn', service: 'gitops-service', project: 'sockshop' });
    expect(lines[0]!.timestamp).to.be.a('string');
  });

  it('gives children the parent level and adds their fields', async () => {
    const { logger, lines } = capture('info');
    const child = logger.child({ triggeredid: 'abc' });
    child.debug('dropped');
    child.info('kept', { stage: 'dev' });
    await settle();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({
      message: 'kept',
      triggeredid: 'abc',
      stage: 'dev',
      service: 'gitops-service',
    });
  });
});
