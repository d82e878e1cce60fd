/** API_PORT (or API_HOST) cannot be listened on: the API stops, saying which setting to change. */
export class ApiListenError extends Error {
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use (EADDRINUSE): stop what listens there or set API_PORT to a free port`
        : `cannot listen on ${host}:${port} (${cause.code ?? cause.message}): check API_PORT and API_HOST`;
    super(`API not started: API_PORT=${port}: ${why}`);
    this.name = 'ApiListenError';
  }
}

/** The error a failed `listen` threw, as ApiListenError when it is the socket's (it has an errno code). */
export function listenError(host: string, port: number, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code)
    ? new ApiListenError(host, port, error as NodeJS.ErrnoException)
    : error;
}
