import type { ApiKeyScope } from '@trainyard/contracts';

/** Who is asking: the key a request proved, as the rest of the API sees it. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: readonly ApiKeyScope[];
  /** The one project this key may see and change; null for an operator's key (every project). */
  project: string | null;
}

/** Resources created by a key without a project go here (and so did everything before projects). */
export const DEFAULT_PROJECT = 'default';

/** With auth switched off (an explicit setting, loopback only) every request acts as this. */
export const AUTH_DISABLED_PRINCIPAL: Principal = {
  keyId: 'auth-disabled',
  name: 'auth disabled',
  scopes: ['admin'],
  project: null,
};

/** The project a new resource is written to. */
export function projectForWrites(principal: Principal): string {
  return principal.project ?? DEFAULT_PROJECT;
}

/** The project filter for reads: undefined = every project. */
export function projectFilter(principal: Principal): string | undefined {
  return principal.project ?? undefined;
}

/** `admin` holds every scope; the others are granted one by one. */
export function hasScope(principal: Principal, scope: ApiKeyScope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

export interface AuthenticatedRequest {
  principal?: Principal;
}
