import { Module } from '@nestjs/common';
import { CATALOG_LISTS } from '../catalog/catalog-page-query';
import { RunsModule } from '../runs/runs.module';
import { SweepsController } from './sweeps.controller';
import { SweepsService } from './sweeps.service';

@Module({ imports: [RunsModule], controllers: [SweepsController], providers: [SweepsService, CATALOG_LISTS] })
export class SweepsModule {}
