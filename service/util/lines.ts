/**
 * The lines of a byte stream (newline-delimited JSON, server-sent events), decoded as UTF-8 across
 * chunk borders (a chunk may end inside a multi-byte character). `trailing`: whether text after the
 * last newline is a line too (a stream that ends cleanly) or an interrupted one to drop.
 */
export async function* readLines(
  body: AsyncIterable<Uint8Array>,
  trailing: 'line' | 'drop',
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop()!;
    yield* lines;
  }
  if (trailing === 'line' && rest !== '') yield rest;
}
