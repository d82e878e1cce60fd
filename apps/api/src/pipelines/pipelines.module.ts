import { Module } from '@nestjs/common';
import { RunsModule } from '../runs/runs.module';
import { PipelinesController } from './pipelines.controller';
import { PipelinesService } from './pipelines.service';

@Module({ imports: [RunsModule], controllers: [PipelinesController], providers: [PipelinesService] })
export class PipelinesModule {}
