import { Module } from '@nestjs/common';
import { CATALOG_LISTS } from '../catalog/catalog-page-query';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  controllers: [ModelsController],
  providers: [ModelsService, CATALOG_LISTS],
})
export class ModelsModule {}
