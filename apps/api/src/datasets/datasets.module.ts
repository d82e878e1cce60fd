import { Module } from '@nestjs/common';
import { DatasetsController } from './datasets.controller';
import { DatasetSamplesService } from './dataset-samples.service';
import { DatasetsService } from './datasets.service';

@Module({
  controllers: [DatasetsController],
  providers: [DatasetsService, DatasetSamplesService],
})
export class DatasetsModule {}
