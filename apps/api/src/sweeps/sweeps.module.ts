import { Module } from '@nestjs/common';
import { RunsModule } from '../runs/runs.module';
import { SweepsController } from './sweeps.controller';
import { SweepsService } from './sweeps.service';

@Module({ imports: [RunsModule], controllers: [SweepsController], providers: [SweepsService] })
export class SweepsModule {}
