import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isId } from '@trainyard/contracts';
import { ProjectsRepository } from '@trainyard/db';
import { OWNED_RESOURCE, type OwnedKind } from './auth.decorators';
import type { AuthenticatedRequest } from './principal';
import { notFound } from '../http/problems';

/**
 * Runs after ApiKeyGuard: on a route marked @Owned, a key confined to a project gets a 404 for
 * another project's resource — the same answer as for an id that does not exist. A malformed id
 * is left to the route's validation (400); an unknown one to the route (404).
 */
@Injectable()
export class ProjectOwnershipGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly projects: ProjectsRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const owned = this.reflector.getAllAndOverride<{ kind: OwnedKind; param: string } | undefined>(OWNED_RESOURCE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!owned) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest & { params: Record<string, string> }>();
    const project = request.principal?.project;
    if (!project) return true; // an operator's key, or auth off
    const id = request.params[owned.param];
    if (!isId(id)) return true;
    const owner = await this.projects.projectOf(owned.kind, id);
    if (owner !== null && owner !== project) {
      throw notFound(owned.kind, id);
    }
    return true;
  }
}
