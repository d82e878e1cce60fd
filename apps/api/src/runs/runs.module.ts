import { Module } from '@nestjs/common';
import { RunArtifactsController } from './run-artifacts.controller';
import { RunReferencesService } from './run-references.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';

@Module({
  controllers: [RunsController, RunArtifactsController],
  providers: [RunsService, RunReferencesService],
  exports: [RunsService, RunReferencesService],
})
export class RunsModule {}
