import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyScope } from '@trainyard/contracts';
import type { AuthenticatedRequest, Principal } from './principal';

export const PUBLIC_ROUTE = 'trainyard:public';
export const REQUIRED_SCOPE = 'trainyard:scope';
export const OWNED_RESOURCE = 'trainyard:owned';

/**
 * Why a route needs no key. `always`: liveness, readiness, sign-in and the dashboard's static
 * files (no data in them); `metrics`: only when METRICS_PUBLIC is set.
 */
export type PublicReason = 'always' | 'metrics';

/** Opens a route to requests without a key. Every other route is closed by the global guard. */
export const Public = (reason: PublicReason = 'always') => SetMetadata(PUBLIC_ROUTE, reason);

/**
 * The scope a route needs. Without it: `read` for GET and HEAD, `submit` for anything that
 * changes state, so a new route is never left open by omission.
 */
export const RequireScope = (scope: ApiKeyScope) => SetMetadata(REQUIRED_SCOPE, scope);

export type OwnedKind = 'run' | 'pipeline' | 'sweep' | 'dataset';

/**
 * The route's `:param` names a resource that belongs to a project: a key of another project gets
 * the same 404 as for an id that does not exist, so it learns nothing about what others have.
 */
export const Owned = (kind: OwnedKind, param = 'id') => SetMetadata(OWNED_RESOURCE, { kind, param });

/** The principal the guard attached to the request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  // Only a public route has none, and a public route must not act for anyone.
  if (!principal) throw new Error('CurrentPrincipal used on a route the auth guard did not authenticate');
  return principal;
});
