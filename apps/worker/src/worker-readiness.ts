import { Injectable } from '@nestjs/common';

/** Where this worker is in its life: it takes jobs only while `consuming`. */
export type WorkerReadinessState = 'starting' | 'consuming' | 'draining' | 'stopping';

/**
 * Whether this worker takes jobs now, answered at GET /readyz on its metrics port: a Kubernetes
 * rollout counts a new worker pod available only once it consumes, and a drained or stopping one
 * shows as not ready. WorkerHost moves it; liveness (/healthz) does not depend on it.
 */
@Injectable()
export class WorkerReadiness {
  state: WorkerReadinessState = 'starting';

  get ready(): boolean {
    return this.state === 'consuming';
  }
}
