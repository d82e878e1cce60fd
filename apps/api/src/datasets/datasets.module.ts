import { Module } from '@nestjs/common';
import { DatasetDeletionService } from './dataset-deletion.service';
import { DatasetUploadController } from './dataset-upload.controller';
import { DatasetUploadLimiter } from './dataset-upload.limiter';
import { DatasetUploadService } from './dataset-upload.service';
import { DatasetsController } from './datasets.controller';
import { DatasetSamplesService } from './dataset-samples.service';
import { DatasetsService } from './datasets.service';

@Module({
  controllers: [DatasetsController, DatasetUploadController],
  providers: [
    DatasetsService,
    DatasetSamplesService,
    DatasetUploadService,
    DatasetDeletionService,
    DatasetUploadLimiter,
  ],
})
export class DatasetsModule {}
