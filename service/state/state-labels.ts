/** Labels on every object the service keeps its own state in (leases, delivery records). */
export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'keptn-gitops-service' } as const;
export const INTEGRATION_LABEL = 'keptn.sh/integration';
export const DELIVERY_LABEL = 'keptn.sh/delivery';

export function stateLabels(integrationName: string): Record<string, string> {
  return { [MANAGED_BY.key]: MANAGED_BY.value, [INTEGRATION_LABEL]: labelValue(integrationName) };
}

export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Label values are at most 63 characters of `[A-Za-z0-9_.-]`, starting and ending alphanumeric. */
export function labelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}
