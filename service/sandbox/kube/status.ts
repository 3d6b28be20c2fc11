/** A metav1 Status, the body of every error the API server answers. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string };
  code: number;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** An error that the router turns into a Status response. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details: StatusBody['details'] = {},
  ) {
    super(message);
    this.name = 'ApiStatusError';
  }

  toStatus(): StatusBody {
    return statusBody(this.code, this.message, this.details);
  }
}

export function statusBody(code: number, message: string, details: StatusBody['details'] = {}): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'Unknown',
    details,
    code,
  };
}
