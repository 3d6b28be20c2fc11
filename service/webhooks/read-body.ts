import type { IncomingMessage } from 'node:http';

/**
 * The body, or `too-large` as soon as more than `limit` bytes are announced or have arrived (reading stops).
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
