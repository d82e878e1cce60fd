import type { RunCreated, RunDetailView, RunMetrics, RunSpecInput } from '@trainyard/contracts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

/** A small client of the Trainyard HTTP API (what the demo and, later, the CLI use), typed by the API's contracts. */
export class TrainyardClient {
  /** `apiKey` is sent as `Authorization: Bearer <key>` on every call but /readyz. */
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  submit(spec: RunSpecInput): Promise<RunCreated> {
    return this.request('POST', '/v1/runs', spec);
  }

  run(id: string): Promise<RunDetailView> {
    return this.request('GET', `/v1/runs/${id}`);
  }

  /** One metric's points of a run, e.g. `val_accuracy` per epoch. */
  metrics(id: string, name: string): Promise<RunMetrics> {
    return this.request('GET', `/v1/runs/${id}/metrics?name=${encodeURIComponent(name)}`);
  }

  /** Any other call of the API, for clients that need one this class does not wrap. */
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.request(method, path, body);
  }

  async ready(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/readyz`)).ok;
    } catch {
      return false;
    }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload as T;
  }
}
