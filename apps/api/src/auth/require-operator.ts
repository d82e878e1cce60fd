import { ForbiddenException } from '@nestjs/common';
import type { Principal } from './principal';

/**
 * What only an operator may do (a key without a project): change a project's limits, drain
 * workers, read the fleet's metrics. A project's key, its admin key too, gets a 403 naming
 * `Authorization`, so it cannot lift its own limits, act on the shared fleet or read what other
 * projects do. The route's scope is checked apart (the guard). `action` completes "… is for operators".
 */
export function requireOperator(principal: Principal, action: string): void {
  if (principal.project === null) return;
  throw new ForbiddenException({
    message: `${action} is for operators`,
    errors: [
      {
        field: 'Authorization',
        message: `This key belongs to project ${principal.project}; a key without a project (an operator's) is required`,
      },
    ],
  });
}
