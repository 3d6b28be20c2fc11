#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { readEnv, EnvError } from '../config/env.js';
import { ConfigError } from '../config/targets-loader.js';
import { packageVersion } from '../util/package-version.js';
import { COMMANDS, USAGE, type CommandName } from './commands.js';
import { ExitCode, UnavailableError, UsageError } from './exit-codes.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    if (topic && isCommand(topic)) process.stdout.write(COMMANDS[topic].help);
    else process.stdout.write(USAGE);
    return command ? ExitCode.Ok : ExitCode.Usage;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return ExitCode.Ok;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command '${command}'`);
  const { values } = parseCommandArgs(command, rest);
  if (values.help) {
    process.stdout.write(COMMANDS[command].help);
    return ExitCode.Ok;
  }
  switch (command) {
    // Each command loads only its own code: `serve` does not carry the demo's simulators.
    case 'serve':
      return (await import('./serve.js')).runServe(readEnv(process.env, packageVersion()));
    case 'check':
      return (await import('./check.js')).runCheck(readEnv(process.env, packageVersion()));
    case 'demo':
      return (await import('./demo.js')).runDemo();
    case 'trigger':
      return (await import('./trigger.js')).runTrigger(
        triggerArgs(values),
        readEnv(process.env, packageVersion()),
      );
  }
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function parseCommandArgs(command: CommandName, args: string[]) {
  try {
    return parseArgs({
      args,
      options: { ...COMMANDS[command].options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`, { cause: err });
  }
}

function triggerArgs(values: Record<string, string | boolean | undefined>) {
  const text = (key: string) => values[key] as string | undefined;
  const missing = (['project', 'stage', 'service'] as const).filter((k) => !text(k));
  if (missing.length) throw new UsageError(`trigger needs ${missing.map((k) => `--${k}`).join(', ')}`);
  if (text('task') !== undefined && text('sequence') !== undefined) {
    throw new UsageError(
      'trigger takes --task or --sequence, not both: a sequence names its tasks in the shipyard',
    );
  }
  return {
    project: text('project')!,
    stage: text('stage')!,
    service: text('service')!,
    task: text('task') ?? 'deliver',
    sequence: text('sequence'),
    revision: text('revision'),
    wait: values.wait === true,
    timeout: text('timeout') ?? '20m',
  };
}

/** What went wrong, on stderr; for `serve` as a JSON log line like every other line it writes. */
function reportFatal(command: string | undefined, err: unknown): ExitCode {
  const usage = err instanceof UsageError;
  const code = usage
    ? ExitCode.Usage
    : err instanceof UnavailableError
      ? ExitCode.Unavailable
      : ExitCode.Failed;
  const message = (err as Error)?.message ?? String(err);
  if (command === 'serve' && !usage) {
    // Written directly, not through winston: its transports write asynchronously and the process exits now.
    const what =
      err instanceof ConfigError ? `invalid targets file ${err.file}: ${err.problems.join('; ')}` : message;
    const line: Record<string, unknown> = {
      level: 'error',
      message: `cannot start: ${what}`,
      timestamp: new Date().toISOString(),
    };
    if (err instanceof ConfigError) Object.assign(line, { file: err.file, problems: err.problems });
    process.stderr.write(`${JSON.stringify(line)}\n`);
    return code;
  }
  const help = usage ? `\n${command && isCommand(command) ? COMMANDS[command].help : USAGE}` : '';
  process.stderr.write(`keptn-gitops: ${message}\n${help}`);
  return err instanceof ConfigError || err instanceof EnvError ? ExitCode.Failed : code;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => exit(code),
  (err: unknown) => exit(reportFatal(argv[0], err)),
);

/**
 * Ends the process once the command is done, whatever is still open: the NATS client keeps the
 * socket of a connection attempt that timed out (a server that accepts TCP but never speaks NATS),
 * which would keep the process alive for good. stdout and stderr are synchronous for files and pipes.
 */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
