import { readFileSync } from 'node:fs';
import { eventually } from './eventually.js';

/**
 * Stops a process with SIGSTOP and waits until the kernel shows it stopped: the signal is delivered
 * asynchronously, and on a busy machine the process could still handle a message sent right after
 * the kill.
 */
export async function freeze(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await eventually(() => {
    // /proc/<pid>/stat: "<pid> (<comm>) <state> ...", state T when stopped by a signal.
    if (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'T')
      throw new Error(`pid ${pid} not stopped yet`);
  });
}
