import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { BUILT_IN_ISSUER_PATH } from '../config/config';
import { AuthorizationServer } from './authorization-server';

/**
 * Hands every request under `/oauth` (other than the login and consent pages) to the built-in
 * authorization server, after the same request id, logging and metrics middleware as the API.
 */
@ApiExcludeController()
@Public()
@Controller(BUILT_IN_ISSUER_PATH.slice(1))
export class AuthorizationServerController {
  constructor(private readonly server: AuthorizationServer) {}

  @All('*path')
  handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.server.handle(req, res);
  }
}
