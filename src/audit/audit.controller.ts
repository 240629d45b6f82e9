import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { Answers } from '../common/openapi';
import { PageQueryDto } from '../common/dto';
import { parseTeamId } from '../common/ids';
import { AuditPage } from './audit.schemas';
import { AuditService } from './audit.service';

class AuditPageDto extends createZodDto(AuditPage) {}

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/teams/:teamId/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** The team's audit trail, newest first. */
  @Get()
  @Answers({ status: 200, type: AuditPageDto })
  list(@CurrentActor() actor: Actor, @Param('teamId') teamId: string, @Query() page: PageQueryDto) {
    return this.audit.list(actor, parseTeamId(teamId), page);
  }
}
