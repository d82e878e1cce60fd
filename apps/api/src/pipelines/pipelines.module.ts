import { Module } from '@nestjs/common';
import { CATALOG_LISTS } from '../catalog/catalog-page-query';
import { RunsModule } from '../runs/runs.module';
import { PipelinesController } from './pipelines.controller';
import { PipelinesService } from './pipelines.service';

@Module({ imports: [RunsModule], controllers: [PipelinesController], providers: [PipelinesService, CATALOG_LISTS] })
export class PipelinesModule {}
