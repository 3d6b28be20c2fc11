import { expect } from 'chai';
import { reopenStream } from '../../../lib/index.js';

/** A stream that, on each opening, does what the script's next step says. */
function scripted(steps: ('fail' | 'end' | 'event then fail' | 'forbidden')[]) {
  let opened = 0;
  return {
    get opened() {
      return opened;
    },
    open: async (progress: () => void) => {
      const step = steps[opened++];
      if (step === undefined) throw new Error('script done');
      if (step === 'event then fail') progress();
      if (step === 'end') return;
      throw new Error(step);
    },
  };
}

describe('reopenStream', () => {
  const backoff = { initialMs: 8, maxMs: 1000 };

  it('reopens an ended stream at once and backs off over failures in a row, from the first; an event ends the run', async () => {
    const stream = scripted(['end', 'fail', 'fail', 'fail', 'event then fail', 'forbidden']);
    const delays: [string, number][] = [];
    const ended = await reopenStream(stream.open, {
      signal: new AbortController().signal,
      backoff,
      onFailure: (err, delayMs) => {
        delays.push([(err as Error).message, delayMs]);
        return (err as Error).message === 'forbidden' ? 'stop' : 'reopen';
      },
    });
    expect(ended).to.equal('stopped');
    expect(stream.opened).to.equal(6);
    expect(delays.map(([what]) => what)).to.deep.equal([
      'fail',
      'fail',
      'fail',
      'event then fail',
      'forbidden',
    ]);
    const ranges = [
      [4, 8],
      [8, 16],
      [16, 32],
      [4, 8],
      [8, 16],
    ];
    delays.forEach(([, ms], i) => expect(ms, `drop ${i + 1}`).to.be.within(ranges[i]![0]!, ranges[i]![1]!));
  });

  it('counts a clean end as a drop when told, and reopens the first drops at once', async () => {
    const stream = scripted(['end', 'end', 'fail', 'forbidden']);
    const delays: number[] = [];
    await reopenStream(stream.open, {
      signal: new AbortController().signal,
      backoff,
      immediateReopens: 1,
      endIsDrop: true,
      onFailure: (err, delayMs) => {
        delays.push(delayMs);
        return (err as Error).message === 'forbidden' ? 'stop' : 'reopen';
      },
    });
    expect(delays[0], 'third drop').to.be.within(8, 16);
    expect(delays[1], 'fourth drop').to.be.within(16, 32);
  });

  it('reopens the first failures at once, then backs off from the initial delay', async () => {
    const stream = scripted(['fail', 'fail', 'forbidden']);
    const delays: number[] = [];
    await reopenStream(stream.open, {
      signal: new AbortController().signal,
      backoff,
      immediateReopens: 1,
      onFailure: (err, delayMs) => {
        delays.push(delayMs);
        return (err as Error).message === 'forbidden' ? 'stop' : 'reopen';
      },
    });
    expect(delays[0], 'first failure').to.equal(0);
    expect(delays[1], 'second failure').to.be.within(4, 8);
  });

  it('ends when its signal aborts while it backs off, without another opening', async () => {
    const aborted = new AbortController();
    const stream = scripted(['fail', 'fail']);
    const ended = reopenStream(stream.open, {
      signal: aborted.signal,
      backoff: { initialMs: 60_000 },
      onFailure: () => {
        setImmediate(() => aborted.abort());
        return 'reopen';
      },
    });
    expect(await ended).to.equal('aborted');
    expect(stream.opened).to.equal(1);
  });
});
