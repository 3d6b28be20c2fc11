/** One line of `keptn-gitops check`: what each check reports, apart from the command that runs them. */
export const CheckStatus = { Ok: 'ok', Warn: 'warn', Fail: 'FAIL' } as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

export interface CheckLine {
  status: CheckStatus;
  name: string;
  detail: string;
}

export type CheckReporter = (line: CheckLine) => void;

/** Names with `${...}` are resolved per delivery, so they cannot be looked up ahead of time. */
export function hasPlaceholder(value: string): boolean {
  return value.includes('${');
}
