import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';

/** Serves the built web dashboard (apps/dashboard → dist/dashboard) from the API process. */
@Module({ controllers: [DashboardController] })
export class DashboardModule {}
