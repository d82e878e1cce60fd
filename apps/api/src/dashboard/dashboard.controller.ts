import type { ServerResponse } from 'node:http';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { loadDashboardAssets, type DashboardAsset } from './dashboard-assets';
import { Public } from '../auth/auth.decorators';
import { RespondsWithoutJson } from '../openapi/response-contract';

/**
 * The web dashboard: index.html at `/`, its modules and styles under `/assets/` (uPlot under
 * `/assets/vendor/`, @trainyard/client's browser entry under `/assets/client/`). Public: they
 * hold no data, and the page asks for a key before it calls the API.
 */
@ApiExcludeController()
@Public()
@Controller()
export class DashboardController {
  private readonly assets = loadDashboardAssets();

  @Get()
  @RespondsWithoutJson(200, 'text/html')
  index(@Res() res: ServerResponse): void {
    const page = this.assets?.get('index.html');
    if (!page) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The dashboard has not been built: run `npm run build` (it writes dist/dashboard).\n');
      return;
    }
    // The page names its modules without a version, so it must be revalidated every time.
    send(res, page, 'no-cache');
  }

  @Get('assets/:file')
  @RespondsWithoutJson(200, 'text/javascript', 'A module, style sheet or image of the page')
  asset(@Param('file') file: string, @Res() res: ServerResponse): void {
    this.serve(file, res);
  }

  @Get('assets/vendor/:file')
  @RespondsWithoutJson(200, 'text/javascript', "uPlot's module or style sheet")
  vendor(@Param('file') file: string, @Res() res: ServerResponse): void {
    this.serve(`vendor/${file}`, res);
  }

  @Get('assets/client/:file')
  @RespondsWithoutJson(
    200,
    'text/javascript',
    "@trainyard/client's browser-safe modules, which the page calls the API with",
  )
  client(@Param('file') file: string, @Res() res: ServerResponse): void {
    this.serve(`client/${file}`, res);
  }

  private serve(path: string, res: ServerResponse): void {
    const asset = this.assets?.get(path);
    if (!asset || path === 'index.html') throw new NotFoundException({ message: `No dashboard asset ${path}` });
    send(res, asset, 'no-cache');
  }
}

function send(res: ServerResponse, asset: DashboardAsset, cacheControl: string): void {
  res.writeHead(200, {
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    'cache-control': cacheControl,
  });
  res.end(asset.body);
}
