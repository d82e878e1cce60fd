import { ForbiddenException } from '@nestjs/common';
import type { Principal } from './principal';

/**
 * What only an operator may do (a key without a project): change a project's limits, drain
 * workers. A project's own admin key gets a 403 naming `Authorization`, so it cannot lift its
 * own limits or act on the shared fleet. `action` completes "… is for operators".
 */
export function requireOperator(principal: Principal, action: string): void {
  if (principal.project === null) return;
  throw new ForbiddenException({
    message: `${action} is for operators`,
    errors: [
      {
        field: 'Authorization',
        message: `This key belongs to project ${principal.project}; an admin key without a project is required`,
      },
    ],
  });
}
